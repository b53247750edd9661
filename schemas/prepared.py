"""A batch made ready for the hub to store: read (`messages.read_batch`), and each event's
canonical texts, hash and pii digest computed (`canonical`). This is the CPU-bound half of
ingest and needs nothing of the hub's database, so the hub does it outside its write lock, in a
process of its own while a backlog is drained (`hub.preparing`). Whether the batch links to
what the hub holds is still decided by the store, with `canonical.chain_break` on these
hashes.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .canonical import (
    canonical_text,
    canonical_text_floatless,
    checked_event_hash,
    sha256_hex,
)
from .messages import FLOATLESS, UnreadableMessage, read_batch


class Digests(NamedTuple):
    """Per event, in order: its `data` and `pii` as canonical text (as stored), its hash as
    its content gives it, and its pii's digest (None without pii)."""

    data_texts: list[str]
    pii_texts: list[str | None]
    hashes: list[str]
    pii_digests: list[str | None]

    def after(self, start: int) -> Digests:
        """Those of the events from index `start` on."""
        return Digests(
            self.data_texts[start:],
            self.pii_texts[start:],
            self.hashes[start:],
            self.pii_digests[start:],
        )


class Prepared(NamedTuple):
    """A batch as `read_batch` passed it, with its events' digests."""

    batch: dict[str, Any]
    digests: Digests


def digest_events(events: list[dict[str, Any]]) -> Digests:
    """The digests of events whose shape `read_batch` checked (pii: strings, no floats)."""
    data_texts = [
        (canonical_text_floatless if e["type"] in FLOATLESS else canonical_text)(e["data"])
        for e in events
    ]
    pii_texts = [
        None if e.get("pii") is None else canonical_text_floatless(e["pii"]) for e in events
    ]
    return Digests(
        data_texts,
        pii_texts,
        [checked_event_hash(e, text) for e, text in zip(events, data_texts, strict=True)],
        [None if text is None else sha256_hex(text.encode()) for text in pii_texts],
    )


def prepare(raw: bytes) -> Prepared | UnreadableMessage:
    """An events message read and digested, or why it cannot be read (nothing raises for what a
    message holds)."""
    try:
        batch = read_batch(raw)
    except UnreadableMessage as exc:
        return exc
    return Prepared(batch, digest_events(batch["events"]))
