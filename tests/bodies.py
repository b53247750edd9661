"""What the tests send: request bodies, the hub's messages and hash-chained events, and the
dates nobody may type."""

from __future__ import annotations

from typing import Any

from schemas.canonical import event_hash, pii_digest
from schemas.ids import new_id


def new_visit(
    name: str = "陳小明", unit: str = "12A", category: str = "guest", **more: str
) -> dict[str, str]:
    """A registration (the body of POST /visits): who, to which flat, why, and any other field."""
    return {"visitor_name": name, "unit": unit, "category": category, **more}


def new_incident(category: str, severity: str, title: str, **more: str) -> dict[str, str]:
    """A new incident (the body of POST /incidents), with any other field."""
    return {"category": category, "severity": severity, "title": title, **more}


def watchlist_message(message_id: str, *entries: dict[str, Any]) -> dict[str, Any]:
    """The hub's watch list as a post's sync receives it (version 1, under another post's key)."""
    return {"id": message_id, "version": 1, "key_id": "another key", "entries": list(entries)}


# dates a person or a door controller types that no service may take: outside 2000-01-01 ..
# 2100-12-31, a day that does not exist, no dashes
BAD_DAYS = ["0001-01-01", "9999-12-31", "1999-12-31", "2101-01-01", "2026-02-30", "20261122"]


def chained_event(
    seq: int,
    kind: str,
    at: str,
    record_id: str,
    data: dict[str, Any],
    pii: dict[str, Any] | None,
    prev_hash: str,
) -> dict[str, Any]:
    """A logbook event as a post publishes it, hash-chained to `prev_hash` (anyone can compute
    the chain: it proves order, not origin)."""
    event: dict[str, Any] = {
        "seq": seq,
        "id": new_id(),
        "type": kind,
        "at": at,
        "record_id": record_id,
        "data": data,
        "pii_digest": pii_digest(pii),
        "prev_hash": prev_hash,
    }
    event["hash"] = event_hash(event)
    event["pii"] = pii
    return event
