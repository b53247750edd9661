"""Canonical JSON and the SHA-256 hashes of the logbook's hash chain (CONTRACT section 4).

One implementation, used by the edge when it appends, by `verify`, and by the hub when it ingests.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from json.encoder import encode_basestring  # the C encoder; keeps non-ASCII as it is
from typing import Any

import orjson

GENESIS_HASH = "0" * 64
# the fields that are not part of an event's hash: the hash itself, and pii, which a purge may
# set to null (pii is covered by pii_digest instead)
UNHASHED_FIELDS = frozenset({"hash", "pii"})


# one encoder, made once: json.dumps with these options builds a new encoder on every call
_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def json_string(text: str) -> str:
    """One string as canonical JSON (quoted, escaped, non-ASCII kept), as the C encoder does."""
    return str(encode_basestring(text))


def canonical_text(value: Any) -> str:
    """Keys sorted, separators `,` and `:`, no whitespace, non-ASCII unescaped."""
    return _ENCODER.encode(value)


def canonical_text_floatless(value: Any) -> str:
    """`canonical_text` of a value known to hold no float (a validated event's `pii`, or the
    `data` of a type without float fields: `schemas.messages.FLOATLESS`): the same text,
    several times faster. orjson spells some floats otherwise (1e-05 against 1e-5); for
    anything else it cannot encode as the standard library would (a non-string key, an integer
    over 64 bits) the standard library encodes it."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError is one
        return canonical_text(value)


def canonical_json(value: Any) -> bytes:
    """`canonical_text` as UTF-8 bytes: what is hashed and sent."""
    return _ENCODER.encode(value).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pii_digest(pii: dict[str, Any] | None) -> str | None:
    """SHA-256 of the canonical JSON of an event's `pii`, or None when it has none."""
    if pii is None:
        return None
    return sha256_hex(canonical_json(pii))


HASHED_FIELDS = frozenset(
    {"at", "data", "id", "pii_digest", "prev_hash", "record_id", "seq", "type"}
)


def canonical_event_text(
    at: str,
    data_text: str,
    event_id: str,
    pii_digest: str | None,
    prev_hash: str,
    record_id: str,
    seq: int,
    event_type: str,
    hash_hex: str | None = None,
    pii_text: str | None = None,
) -> str:
    """An event's canonical JSON, assembled around the canonical text of its `data` (and
    `pii`), already made to store it, without encoding them again: a long backlog is hashed and
    sent without decoding a stored event. The arguments come in the keys' canonical order.

    Without `hash_hex`: the body the event's hash covers (no `hash`, no `pii`). With it: the
    event as it travels, `hash` and `pii` (`pii_text`, null when None) included."""
    if hash_hex is None:
        middle = ',"id":' + encode_basestring(event_id)
    else:
        middle = "".join(
            (
                ',"hash":',
                encode_basestring(hash_hex),
                ',"id":',
                encode_basestring(event_id),
                ',"pii":',
                "null" if pii_text is None else pii_text,
            )
        )
    return "".join(
        (
            '{"at":',
            encode_basestring(at),
            ',"data":',
            data_text,
            middle,
            ',"pii_digest":',
            "null" if pii_digest is None else encode_basestring(pii_digest),
            ',"prev_hash":',
            encode_basestring(prev_hash),
            ',"record_id":',
            encode_basestring(record_id),
            ',"seq":',
            str(seq),
            ',"type":',
            encode_basestring(event_type),
            "}",
        )
    )


def fitting(
    encoded_events: Iterable[tuple[int, bytes]], max_bytes: int | None
) -> list[tuple[int, bytes]]:
    """The first of `(seq, canonical bytes)` that fit in `max_bytes` with a comma after each
    (at least one; all without `max_bytes`). The iterable is read no further than needed."""
    fit: list[tuple[int, bytes]] = []
    size = 0
    for seq, body in encoded_events:
        size += len(body) + 1
        if max_bytes is not None and fit and size > max_bytes:
            break
        fit.append((seq, body))
    return fit


def batch_frame(site: str, device: str, encoded_events: Sequence[bytes]) -> bytes:
    """An events message: the canonical JSON of `{"device", "events", "site"}` framed around
    events already encoded (by `canonical_event_text`), the same bytes as `canonical_json` of
    the decoded batch. `len(batch_frame(site, device, ()))` is what the frame adds."""
    return b"".join(
        (
            b'{"device":',
            json_string(device).encode("utf-8"),
            b',"events":[',
            b",".join(encoded_events),
            b'],"site":',
            json_string(site).encode("utf-8"),
            b"}",
        )
    )


def checked_event_hash(event: dict[str, Any], data_text: str) -> str:
    """`event_hash` of an event whose envelope `messages.read_batch` checked (each field there,
    of its type, none more), around its `data`'s canonical text: no check made again."""
    text = canonical_event_text(
        event["at"],
        data_text,
        event["id"],
        event["pii_digest"],
        event["prev_hash"],
        event["record_id"],
        event["seq"],
        event["type"],
    )
    return sha256_hex(text.encode("utf-8"))


def event_hash(event: dict[str, Any], data_text: str | None = None) -> str:
    """The `hash` of an event: SHA-256 of its canonical JSON without `hash` and `pii`.

    With `data_text` (the canonical text of `data`, already made to store it) a well-formed
    event's canonical JSON is assembled without encoding `data` again: same bytes, less work on
    a long backlog."""
    if (
        data_text is not None
        and set(event) - UNHASHED_FIELDS == HASHED_FIELDS
        and type(event["seq"]) is int
        and all(isinstance(event[k], str) for k in ("at", "id", "prev_hash", "record_id", "type"))
        and (event["pii_digest"] is None or isinstance(event["pii_digest"], str))
    ):
        return checked_event_hash(event, data_text)
    body = {k: v for k, v in event.items() if k not in UNHASHED_FIELDS}
    return sha256_hex(canonical_json(body))


def chain_break(
    events: Sequence[dict[str, Any]],
    prev_hash: str,
    prev_seq: int,
    hashes: Sequence[str] | None = None,
    pii_digests: Sequence[str | None] | None = None,
) -> int | None:
    """The seq of the first event that does not link to the one before it, or None if all do.

    `hashes` / `pii_digests`: each event's hash as its content gives it and its pii's digest
    (None without pii), if already computed (`schemas.prepared`). Checks, for each event in
    order: seq is the next one, prev_hash names the previous hash, the hash is right, and pii
    (when still present) matches pii_digest.
    """
    for n, event in enumerate(events):
        seq = prev_seq + 1
        if event.get("seq") != seq:
            return seq  # a missing (deleted) or misnumbered event
        if event.get("prev_hash") != prev_hash:
            return seq
        if event.get("hash") != (hashes[n] if hashes is not None else event_hash(event)):
            return seq
        if event.get("pii") is not None:
            digest = pii_digests[n] if pii_digests is not None else pii_digest(event["pii"])
            if digest != event.get("pii_digest"):
                return seq
        prev_hash = event["hash"]
        prev_seq = seq
    return None
