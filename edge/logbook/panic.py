"""The panic button (CONTRACT section 9): a guard in trouble opens a severe security incident in
one tap-and-hold, titled with the guard's name and the last checkpoint they scanned (where to
look for them), due by the site's severe deadline. The hub mails it to every severe rule as
soon as it arrives (`hub/store/rules.py`), whatever events the rule asks for."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from schemas.ids import format_time, new_id, utc_now
from schemas.models import Severity
from service.incident_words import PANIC, panic_title

from ..privacy import incident_pii
from .actors import Actor
from .family import Family
from .own_incidents import open_own_incident

LAST_SCAN_H = 12  # a scan older than a long shift says nothing about where the guard is now


class Panic(Family):
    """`book.panic`: the guard's call for help."""

    async def call_for_help(self, note: str | None, by: Actor) -> str:
        """Open the panic incident (its note, free text, in `pii`); answers its id once the
        event is on disk."""
        incident_id = new_id()

        def work(conn: sqlite3.Connection) -> None:
            opened = utc_now()
            checkpoint = self.last_checkpoint(conn, by, opened - timedelta(hours=LAST_SCAN_H))
            open_own_incident(
                self.book,
                conn,
                incident_id,
                category="security",
                severity=Severity.severe,
                title=panic_title(by.name or by.id, checkpoint),
                title_code=PANIC,
                location=checkpoint,
                by=by.ref,
                at=opened,
                pii=incident_pii({"description": note}),
            )

        await self.writer.run(work)
        return incident_id

    def last_checkpoint(self, conn: sqlite3.Connection, by: Actor, since: datetime) -> str | None:
        """The name of the checkpoint this guard scanned last since `since`, or None."""
        row = conn.execute(
            "SELECT COALESCE(c.name, s.checkpoint_id) AS name FROM patrol_scans s"
            " LEFT JOIN checkpoints c ON c.id = s.checkpoint_id"
            " WHERE s.guard = ? AND s.scanned_at >= ? ORDER BY s.scanned_at DESC LIMIT 1",
            (by.badge, format_time(since)),
        ).fetchone()
        return str(row["name"]) if row else None

    def seq_of(self, incident_id: str) -> int | None:
        """The seq of the event that opened the incident (the hub has it once acked past)."""
        row = self.book.reader.execute(
            "SELECT seq FROM events WHERE record_id = ? AND type = 'incident.opened'",
            (incident_id,),
        ).fetchone()
        return int(row["seq"]) if row else None
