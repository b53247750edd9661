"""Shift notes: what one shift hands over to the next, and the logbook lines since then."""

from __future__ import annotations

import sqlite3
from typing import Any

from schemas.ids import new_id
from schemas.lines import logbook_line
from schemas.models import ShiftNoteData

from .actors import Actor
from .family import Family
from .writer import Work


class ShiftNotes(Family):
    """`book.shift_notes`: the handover notes."""

    async def add(self, text: str, by: Actor) -> dict[str, Any]:
        return await self.writer.run(self.add_work(text, by))

    def add_work(self, text: str, by: Actor) -> Work[dict[str, Any]]:
        note_id = new_id()

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            self.writer.append(conn, "shift.note", note_id, ShiftNoteData(text=text, by=by.ref))
            row = conn.execute("SELECT * FROM shift_notes WHERE id = ?", (note_id,)).fetchone()
            return {"site": self.book.site, "device": self.book.device, **dict(row)}

        return work

    def since_last_handover(self, limit: int = 500, raw: bool = False) -> list[dict[str, Any]]:
        """The logbook lines after the last shift note, oldest first (the handover page)."""
        rows = self.book.reader.execute(
            "SELECT seq, at, type, record_id, data, pii FROM events WHERE seq >"
            " (SELECT COALESCE(MAX(seq), 0) FROM events WHERE type = 'shift.note')"
            " ORDER BY seq LIMIT ?",
            (limit,),
        )
        return [logbook_line(r, raw) for r in rows]
