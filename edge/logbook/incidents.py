"""Incidents and their entries: opening one, adding an entry (a guard's, or a supervisor's from
the hub), and moving it along open -> acknowledged -> in_progress -> resolved -> closed."""

from __future__ import annotations

import builtins
import sqlite3
from datetime import timedelta
from typing import Any

from schemas.ids import format_time, new_id, utc_now
from schemas.models import EntryKind, IncidentEntryData, IncidentOpenedData
from schemas.rows import UNRESOLVED_STATUSES, is_overdue, only_overdue
from service import errors
from service.sqlite import and_where

from ..privacy import incident_pii, text_pii
from . import lifecycle
from .actors import Actor
from .family import Family
from .visits import linked_visit

HUB_ENTRY_KINDS = {"note", "action", "escalation", "follow_up", "summary", "police_called"}


class Incidents(Family):
    """`book.incidents`: what went wrong at the post, and what was done about it."""

    async def open(self, body: dict[str, Any], by: Actor) -> dict[str, Any]:
        incident_id = new_id()

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            opened = utc_now()  # due_at is exactly opened_at + the severity's deadline
            due_at = format_time(opened + timedelta(hours=self.book.deadlines_h[body["severity"]]))
            visit_id = linked_visit(conn, body.get("visit_id"))
            reply_by = body.get("reply_by")
            self.writer.append(
                conn,
                "incident.opened",
                incident_id,
                IncidentOpenedData(
                    category=body["category"],
                    severity=body["severity"],
                    description=None,  # free text is personal data: title, location and
                    # description travel in `pii`
                    visit_id=visit_id,
                    channel=body.get("channel") or None,
                    due_at=due_at,
                    by=by.ref,
                    reply_by=format_time(reply_by) if reply_by else None,
                ),
                incident_pii(body),
                at=opened,
            )
            return self.get(incident_id, conn=conn)

        return await self.writer.run(work)

    async def add_entry(self, incident_id: str, kind: str, text: str, by: Actor) -> dict[str, Any]:
        entry_id = new_id()

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            if (
                conn.execute("SELECT 1 FROM incidents WHERE id = ?", (incident_id,)).fetchone()
                is None
            ):
                raise errors.NotFound(f"no incident {incident_id}", loc=("path", "id"))
            self.writer.append(
                conn,
                "incident.entry",
                entry_id,
                IncidentEntryData(incident_id=incident_id, kind=EntryKind(kind), by=by.ref),
                text_pii(text),
            )
            row = conn.execute("SELECT * FROM incident_entries WHERE id = ?", (entry_id,))
            return _entry_out(row.fetchone())

        return await self.writer.run(work)

    def apply_hub_entry_now(self, message: dict[str, Any]) -> bool:
        """A supervisor's entry from the hub, applied once by its id; True if it was new."""
        entry_id, incident_id = str(message["id"]), str(message["incident_id"])
        kind, text, by = str(message["kind"]), str(message["text"]), str(message["by"])
        if kind not in HUB_ENTRY_KINDS:
            raise ValueError(f"unknown entry kind {kind}")
        if not by.startswith("hub:"):
            raise ValueError("a hub entry must be by hub:USER")

        def work(conn: sqlite3.Connection) -> bool:
            if conn.execute("SELECT 1 FROM incident_entries WHERE id = ?", (entry_id,)).fetchone():
                return False
            if (
                conn.execute("SELECT 1 FROM incidents WHERE id = ?", (incident_id,)).fetchone()
                is None
            ):
                return False
            self.writer.append(
                conn,
                "incident.entry",
                entry_id,
                IncidentEntryData(incident_id=incident_id, kind=EntryKind(kind), by=by),
                text_pii(text),
            )
            return True

        return self.writer.write(work)

    async def set_status(self, incident_id: str, status: str, by: Actor) -> dict[str, Any]:
        """Move an incident one step along its lifecycle (`lifecycle.change_status`: 409 for
        a step the record forbids, then 403 for a grade this person may not close)."""

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            lifecycle.change_status(self.writer, conn, incident_id, status, by)
            return self.get(incident_id, conn=conn)

        return await self.writer.run(work)

    # ---- reads ------------------------------------------------------------------------------

    def get(
        self,
        incident_id: str,
        *,
        with_entries: bool = True,
        conn: sqlite3.Connection | None = None,
    ) -> dict[str, Any]:
        conn = conn or self.book.reader
        row = conn.execute("SELECT * FROM incidents WHERE id = ?", (incident_id,)).fetchone()
        if row is None:
            raise errors.NotFound(f"no incident {incident_id}", loc=("path", "id"))
        incident = self._out(row)
        if with_entries:
            incident["entries"] = [
                _entry_out(e)
                for e in conn.execute(
                    "SELECT * FROM incident_entries WHERE incident_id = ? ORDER BY seq",
                    (incident_id,),
                )
            ]
            incident["history"] = [
                dict(change)
                for change in conn.execute(
                    "SELECT at, change, value, previous, reason, author, command_id"
                    " FROM incident_changes WHERE incident_id = ? ORDER BY at, id",
                    (incident_id,),
                )
            ]
        return incident

    def for_visit(self, visit_id: str) -> list[dict[str, Any]]:
        rows = self.book.reader.execute(
            "SELECT * FROM incidents WHERE visit_id = ? ORDER BY opened_at", (visit_id,)
        )
        return [self._out(row) for row in rows]

    def list(
        self,
        *,
        status: str | None = None,
        severity: str | None = None,
        overdue: bool | None = None,
    ) -> builtins.list[dict[str, Any]]:
        args: builtins.list[Any] = []
        sql = and_where(
            "SELECT * FROM incidents WHERE 1=1",
            args,
            {"status = ?": status, "severity = ?": severity},
        )
        rows = self.book.reader.execute(sql + " ORDER BY opened_at DESC, id DESC", args)
        return only_overdue([self._out(row) for row in rows], overdue)

    def count_overdue(self) -> int:
        """How many unresolved incidents are past their deadline: a live page's version moves
        when one falls due, though no event was written."""
        marks = ", ".join("?" * len(UNRESOLVED_STATUSES))
        row = self.book.reader.execute(
            f"SELECT count(*) FROM incidents WHERE status IN ({marks}) AND due_at < ?",
            (*UNRESOLVED_STATUSES, format_time(utc_now())),
        ).fetchone()
        return int(row[0])

    def _out(self, row: sqlite3.Row) -> dict[str, Any]:
        incident = {"site": self.book.site, "device": self.book.device, **dict(row)}
        incident.pop("purged_at", None)
        incident["overdue"] = is_overdue(row["status"], row["due_at"])
        return incident


def _entry_out(row: sqlite3.Row) -> dict[str, Any]:
    entry = dict(row)
    entry.pop("seq", None)
    return entry
