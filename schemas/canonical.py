"""Canonical JSON and the SHA-256 hashes of the logbook's hash chain (CONTRACT section 4).

One implementation, used by the edge when it appends, by `verify`, and by the hub when it ingests.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

GENESIS_HASH = "0" * 64
# the fields that are not part of an event's hash: the hash itself, and pii, which a purge may
# set to null (pii is covered by pii_digest instead)
UNHASHED_FIELDS = frozenset({"hash", "pii"})


def canonical_json(value: Any) -> bytes:
    """Keys sorted, separators `,` and `:`, no whitespace, UTF-8 with non-ASCII unescaped."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pii_digest(pii: dict[str, Any] | None) -> str | None:
    """SHA-256 of the canonical JSON of an event's `pii`, or None when it has none."""
    if pii is None:
        return None
    return sha256_hex(canonical_json(pii))


def event_hash(event: dict[str, Any]) -> str:
    """The `hash` of an event: SHA-256 of its canonical JSON without `hash` and `pii`."""
    body = {k: v for k, v in event.items() if k not in UNHASHED_FIELDS}
    return sha256_hex(canonical_json(body))


def chain_break(events: list[dict[str, Any]], prev_hash: str, prev_seq: int) -> int | None:
    """The seq of the first event that does not link to the one before it, or None if all do.

    Checks, for each event in order: seq is the next one, prev_hash names the previous hash, the
    hash is right, and pii (when still present) matches pii_digest.
    """
    for event in events:
        seq = event.get("seq")
        if seq != prev_seq + 1:
            return prev_seq + 1  # a missing (deleted) or misnumbered event
        if event.get("prev_hash") != prev_hash:
            return seq
        if event.get("hash") != event_hash(event):
            return seq
        pii = event.get("pii")
        if pii is not None and pii_digest(pii) != event.get("pii_digest"):
            return seq
        prev_hash = event["hash"]
        prev_seq = seq
    return None
