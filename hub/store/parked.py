"""Batches that arrived ahead of a gap in their post's events (`parked_batches`, migration 13).

Several hub processes share the events subscription, and the broker hands a post's batches to
them in turn: batch 2 can be taken by one process while batch 1 is still being stored by the
other. The hub never stores past a gap; instead of dropping batch 2 (the post would resend it
only after its ack timeout), it parks it, and the transaction that fills the gap stores it too.
Both happen under the post's own lock (`Engine.transaction(devices=...)`), so exactly one
process sees each parked batch. The events were read by `read_batch` before they were parked;
the chain is checked when they are stored, as for any batch.
"""

from __future__ import annotations

import json
from typing import Any

from .engine import Conn

MOST_PARKED = 32  # per post: a window of batches, twice over; more is dropped and resent


def park(conn: Conn, site: str, device: str, events: list[dict[str, Any]], now: str) -> None:
    """Keep `events` (seq order, after a gap) until the batches before them are stored."""
    [count] = conn.execute(
        "SELECT COUNT(*) FROM parked_batches WHERE site = ? AND device = ?", (site, device)
    ).fetchone()
    if count >= MOST_PARKED:
        return
    conn.execute(
        "INSERT INTO parked_batches (site, device, first_seq, last_seq, events, parked_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (
            site,
            device,
            events[0]["seq"],
            events[-1]["seq"],
            json.dumps(events, ensure_ascii=False),
            now,
        ),
    )


def take_next(conn: Conn, site: str, device: str, acked: int) -> list[dict[str, Any]] | None:
    """The parked events that go on from `acked` (removed from the table), or None; parked
    batches already stored otherwise are dropped."""
    conn.execute(
        "DELETE FROM parked_batches WHERE site = ? AND device = ? AND last_seq <= ?",
        (site, device, acked),
    )
    row = conn.execute(
        "SELECT first_seq, events FROM parked_batches WHERE site = ? AND device = ?"
        " AND first_seq <= ? ORDER BY first_seq LIMIT 1",
        (site, device, acked + 1),
    ).fetchone()
    if row is None:
        return None
    conn.execute(
        "DELETE FROM parked_batches WHERE site = ? AND device = ? AND first_seq = ?",
        (site, device, row["first_seq"]),
    )
    events: list[dict[str, Any]] = json.loads(row["events"])
    return events
