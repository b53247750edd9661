"""Shift notes: the handover one shift gives the next (the note and what was open then), its
acknowledgement by the incoming guard, and the logbook lines since the last handover."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from schemas.free_text import said
from schemas.ids import new_id
from schemas.lines import logbook_line
from schemas.models import HandoverItems, ShiftAcknowledgedData, ShiftNoteData
from schemas.rows import is_overdue
from service import errors
from service.purge_text import as_purged
from service.sqlite import rows_with_ids

from ..privacy import text_pii
from .actors import Actor
from .family import Family
from .writer import Work

SUSPICIOUS = "suspicious_visitor"  # an open incident of this category holds its visitor


class ShiftNotes(Family):
    """`book.shift_notes`: the handovers and their acknowledgements."""

    async def add(self, text: str, by: Actor) -> dict[str, Any]:
        return await self.writer.run(self.add_work(text, by))

    def add_work(self, text: str, by: Actor) -> Work[dict[str, Any]]:
        note_id = new_id()

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            items = open_items(conn)
            data = ShiftNoteData(by=by.ref, open_items=items)
            self.writer.append(conn, "shift.note", note_id, data, text_pii(text))
            row = conn.execute("SELECT * FROM shift_notes WHERE id = ?", (note_id,)).fetchone()
            return {"site": self.book.site, "device": self.book.device, **dict(row)}

        return work

    async def acknowledge(self, by: Actor) -> dict[str, Any]:
        """The incoming guard read the last handover: a `shift.acknowledged` event naming it;
        NoHandover or AlreadyAcknowledged (409) otherwise."""

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            handover = self.last(conn)
            if handover is None:
                raise errors.NoHandover("there is no handover to acknowledge")
            if handover["acknowledged"] is not None:
                raise errors.AlreadyAcknowledged("the last handover was already acknowledged")
            data = ShiftAcknowledgedData(by=by.ref)
            self.writer.append(conn, "shift.acknowledged", handover["id"], data)
            acknowledged = self.last(conn)
            assert acknowledged is not None
            return acknowledged

        return await self.writer.run(work)

    # ---- reads ------------------------------------------------------------------------------

    def last(self, conn: sqlite3.Connection | None = None) -> dict[str, Any] | None:
        """The last handover (CONTRACT's `Handover`): the note, who wrote it, the visitors and
        incidents open then, and its acknowledgement (None until there is one); None if no
        guard has handed over yet."""
        conn = conn or self.book.reader
        note = conn.execute(
            "SELECT record_id, at, data, pii FROM events WHERE type = 'shift.note'"
            " ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        if note is None:
            return None
        data = json.loads(note["data"])
        items = HandoverItems.model_validate(
            data.get("open_items") or {"on_site": [], "held": [], "incidents": [], "overdue": []}
        )
        badge = _badge(data["by"])
        ack = conn.execute(
            "SELECT at, data FROM events WHERE type = 'shift.acknowledged' AND record_id = ?"
            " ORDER BY seq LIMIT 1",
            (note["record_id"],),
        ).fetchone()
        acknowledged = None
        if ack is not None:
            by = _badge(json.loads(ack["data"])["by"]) or ""
            acknowledged = {"guard": by, "name": _name(conn, by), "at": ack["at"]}
        return {
            "id": note["record_id"],
            "site": self.book.site,
            "device": self.book.device,
            "text": said(data, json.loads(note["pii"] or "null"), "text") or "",
            "at": note["at"],
            "guard": badge,
            "name": _name(conn, badge),
            "on_site": _visits(conn, items),
            "incidents": _incidents(conn, items),
            "acknowledged": acknowledged,
        }

    def waiting_for(self, session_digest: str) -> dict[str, Any] | None:
        """The last handover if the guard of this session has to see it: not yet acknowledged,
        and either written by another guard or before this session began (the guard who wrote
        it, still logged in, does not; the same guard logging in again for the next shift
        does)."""
        handover = self.last()
        if handover is None or handover["acknowledged"] is not None:
            return None
        row = self.book.reader.execute(
            "SELECT badge, created_at FROM sessions WHERE token_hash = ?", (session_digest,)
        ).fetchone()
        if row is None:
            return None
        is_after = row["created_at"] > handover["at"]
        return handover if is_after or row["badge"] != handover["guard"] else None

    def since_last_handover(self, limit: int = 500, raw: bool = False) -> list[dict[str, Any]]:
        """The logbook lines after the last shift note, oldest first (the handover page)."""
        rows = self.book.reader.execute(
            "SELECT seq, id, at, type, record_id, data, pii FROM events WHERE seq >"
            " (SELECT COALESCE(MAX(seq), 0) FROM events WHERE type = 'shift.note')"
            " ORDER BY seq LIMIT ?",
            (limit,),
        )
        return [logbook_line(r, raw) for r in as_purged(self.book.reader, rows)]


def open_items(conn: sqlite3.Connection) -> HandoverItems:
    """What is open now: the visitors on site (and which of them are held), the incidents not
    closed (and which are overdue)."""
    visits = conn.execute(
        "SELECT id, flag FROM visits WHERE checked_out_at IS NULL ORDER BY checked_in_at, id"
    ).fetchall()
    incidents = conn.execute(
        "SELECT id, category, status, due_at, visit_id FROM incidents WHERE status != 'closed'"
        " ORDER BY opened_at, id"
    ).fetchall()
    holding = {i["visit_id"] for i in incidents if i["category"] == SUSPICIOUS}
    return HandoverItems(
        on_site=[v["id"] for v in visits],
        held=[v["id"] for v in visits if v["flag"] == "watch_list" or v["id"] in holding],
        incidents=[i["id"] for i in incidents],
        overdue=[i["id"] for i in incidents if is_overdue(i["status"], i["due_at"])],
    )


def _visits(conn: sqlite3.Connection, items: HandoverItems) -> list[dict[str, Any]]:
    held = set(items.held)
    rows = {
        r["id"]: r
        for r in rows_with_ids(
            conn,
            "SELECT id, visitor_name, unit, category, checked_in_at, checked_out_at FROM visits",
            items.on_site,
        )
    }
    return [{**dict(rows[i]), "is_held": i in held} for i in items.on_site if i in rows]


def _incidents(conn: sqlite3.Connection, items: HandoverItems) -> list[dict[str, Any]]:
    overdue = set(items.overdue)
    rows = {
        r["id"]: r
        for r in rows_with_ids(
            conn,
            "SELECT id, title, title_code, visitor_name, category, severity, status, due_at"
            " FROM incidents",
            items.incidents,
        )
    }
    return [{**dict(rows[i]), "was_overdue": i in overdue} for i in items.incidents if i in rows]


def _badge(ref: str) -> str | None:
    kind, _, ident = ref.partition(":")
    return ident if kind == "guard" else None


def _name(conn: sqlite3.Connection, badge: str | None) -> str | None:
    if not badge:
        return None
    row = conn.execute("SELECT name FROM guards WHERE badge = ?", (badge,)).fetchone()
    return str(row["name"]) if row else None
