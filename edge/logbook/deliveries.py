"""The intercom's webhook deliveries: which confirmation requests to ring the flat for now, and
how each attempt went (with backoff between attempts)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any

from schemas.ids import format_time, parse_time, utc_now

from .family import Family


def retry_delay_s(attempts: int) -> float:
    """Backoff between webhook attempts: 1, 2, 4, 8, 15, 15, ... seconds."""
    return float(min(2 ** max(attempts - 1, 0), 15))


class Deliveries(Family):
    """`book.deliveries`: one row per confirmation request, written with its visit."""

    def due(self, limit: int = 20) -> list[dict[str, Any]]:
        """Webhook deliveries to make now: undelivered, still pending, not yet expired."""
        now = format_time(utc_now())
        rows = self.book.reader.execute(
            "SELECT d.request_id, d.visit_id, d.attempts, v.unit, u.intercom, v.visitor_name,"
            " v.category, v.party_size, v.confirmation_expires_at AS expires_at"
            " FROM deliveries d JOIN visits v ON v.id = d.visit_id"
            " LEFT JOIN units u ON u.unit = v.unit"
            " WHERE d.delivered_at IS NULL AND d.next_attempt_at <= ?"
            " AND v.confirmation_status = 'pending' AND v.confirmation_expires_at > ?"
            " ORDER BY d.next_attempt_at LIMIT ?",
            (now, now, limit),
        )
        return [dict(r) for r in rows]

    def next_due(self) -> datetime | None:
        """When the intercom worker next has something to do (a retry or an expiry)."""
        row = self.book.reader.execute(
            "SELECT MIN(t) FROM ("
            " SELECT d.next_attempt_at AS t FROM deliveries d JOIN visits v ON v.id = d.visit_id"
            "  WHERE d.delivered_at IS NULL AND v.confirmation_status = 'pending'"
            " UNION ALL SELECT confirmation_expires_at FROM visits"
            "  WHERE confirmation_status = 'pending')"
        ).fetchone()
        return parse_time(row[0]) if row and row[0] else None

    def mark_delivered_now(self, request_id: str) -> None:
        self.writer.write(
            lambda conn: conn.execute(
                "UPDATE deliveries SET delivered_at = ?, attempts = attempts + 1, last_error = NULL"
                " WHERE request_id = ?",
                (format_time(utc_now()), request_id),
            )
        )

    def mark_failed_now(self, request_id: str, error: str) -> None:
        """Count a failed attempt and schedule the next one after the backoff."""

        def work(conn: sqlite3.Connection) -> None:
            row = conn.execute(
                "SELECT attempts FROM deliveries WHERE request_id = ?", (request_id,)
            ).fetchone()
            attempts = (row["attempts"] if row else 0) + 1
            conn.execute(
                "UPDATE deliveries SET attempts = ?, last_error = ?, next_attempt_at = ?"
                " WHERE request_id = ?",
                (
                    attempts,
                    error[:200],
                    format_time(utc_now() + timedelta(seconds=retry_delay_s(attempts))),
                    request_id,
                ),
            )

        self.writer.write(work)

    def state(self, visit_id: str) -> dict[str, Any] | None:
        """How ringing the flat is going, for the visit page."""
        row = self.book.reader.execute(
            "SELECT attempts, delivered_at, last_error FROM deliveries WHERE visit_id = ?",
            (visit_id,),
        ).fetchone()
        return dict(row) if row else None
