"""The sync cursor: the events to send the hub, as the canonical bytes they travel as, and how
far the hub has acknowledged them."""

from __future__ import annotations

import sqlite3
from typing import Any

from schemas.canonical import canonical_event_text, fitting
from schemas.ids import format_time, utc_now

from .database import event_out
from .family import Family


class SyncCursor(Family):
    """`book.sync`: what is sent and what the hub has acked."""

    def events_after(self, seq: int, limit: int = 1000) -> list[dict[str, Any]]:
        """Events with seq > `seq`, in order, as they travel (CONTRACT 4)."""
        rows = self.book.reader.execute(
            "SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
        )
        return [event_out(row) for row in rows]

    def encoded_events_after(
        self, seq: int, limit: int = 500, max_bytes: int | None = None
    ) -> list[tuple[int, bytes]]:
        """Events with seq > `seq` as their canonical JSON bytes, ready to send: assembled from
        the stored canonical `data` and `pii` texts without decoding them (a long backlog).
        With `max_bytes`, only as many as fit in it with a comma after each (at least one):
        the rest of a long backlog is not read yet."""
        rows = self.book.reader.execute(
            # the columns in `canonical_event_text`'s order
            "SELECT at, data, id, pii_digest, prev_hash, record_id, seq, type, hash, pii"
            " FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            (seq, limit),
        )
        encoded = fitting(((r[6], canonical_event_text(*r).encode()) for r in rows), max_bytes)
        rows.close()
        return encoded

    def state(self, connected: bool = False) -> dict[str, Any]:
        row = self.book.reader.execute(
            "SELECT acked_seq, last_ack_at, (SELECT COALESCE(MAX(seq), 0) FROM events) AS last_seq"
            " FROM sync_state"
        ).fetchone()
        return {
            "site": self.book.site,
            "device": self.book.device,
            "last_seq": row["last_seq"],
            "acked_seq": row["acked_seq"],
            "backlog": row["last_seq"] - row["acked_seq"],
            "connected": connected,
            "last_ack_at": row["last_ack_at"],
        }

    def last_seq(self) -> int:
        return int(
            self.book.reader.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
        )

    def set_acked_now(self, acked_seq: int) -> bool:
        """Record the hub's cumulative ack; True if it moved forward."""
        return self.writer.write(lambda conn: self.set_acked(conn, acked_seq))

    def set_acked(self, conn: sqlite3.Connection, acked_seq: int) -> bool:
        """`set_acked_now` inside a work of the writer."""
        cursor = conn.execute(
            "UPDATE sync_state SET acked_seq = ?, last_ack_at = ? WHERE acked_seq < ?",
            (acked_seq, format_time(utc_now()), acked_seq),
        )
        return cursor.rowcount > 0
