"""What the API and the dashboard read: visits, incidents with their timelines, a site's
logbook, each as the contract's record."""

from __future__ import annotations

from datetime import date
from typing import Any

from schemas.lines import logbook_line, wanted
from schemas.rows import is_overdue, only_overdue, visit_record
from service.logbook_words import Names
from service.purge_text import as_purged
from service.sqlite import and_where, rows_with_ids

from .base import StoreBase, site_filter
from .commands import command_out
from .engine import Row
from .schema import MILESTONES


class Reads(StoreBase):
    """Reads of the projections: `visits`, `incidents`, `incident_entries`, `events`."""

    def list_visits(
        self, sites: list[str] | None, *, on_site: bool | None = None, day: date | None = None
    ) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM visits WHERE 1=1", list[Any]()
        sql, args = site_filter(sql, args, sites)
        if on_site is True:
            sql += " AND checked_out_at IS NULL"
        elif on_site is False:
            sql += " AND checked_out_at IS NOT NULL"
        if day is not None:
            sql += " AND checked_in_at >= ? AND checked_in_at < ?"
            args += list(self.day_bounds(day))
        rows = self._read.execute(sql + " ORDER BY checked_in_at DESC, id DESC", args)
        return [visit_out(r) for r in rows]

    def get_visit(self, visit_id: str) -> dict[str, Any] | None:
        row = self._read.execute("SELECT * FROM visits WHERE id = ?", (visit_id,)).fetchone()
        return None if row is None else visit_out(row)

    def visit_lines(self, visit: dict[str, Any]) -> list[dict[str, Any]]:
        """The logbook lines of one visit (registered, answered, checked out, undone), with
        each event's `data` and `pii`, in the order its post made them. Only events since its
        check-in are looked at: the site's events are indexed by time, not by record."""
        rows = self._read.execute(
            "SELECT device, seq, id, at, type, record_id, data, pii FROM events"
            " WHERE site = ? AND at >= ? AND record_id = ? ORDER BY device, seq",
            (visit["site"], visit["checked_in_at"], visit["id"]),
        )
        shown = as_purged(self._read, rows, visit["site"])
        return [{"device": r["device"], **logbook_line(r, raw=True)} for r in shown]

    def list_incidents(
        self,
        sites: list[str] | None,
        *,
        status: str | None = None,
        severity: str | None = None,
        overdue: bool | None = None,
        assignee: str | None = None,
    ) -> list[dict[str, Any]]:
        sql, args = site_filter("SELECT * FROM incidents WHERE 1=1", [], sites)
        sql = and_where(
            sql, args, {"status = ?": status, "severity = ?": severity, "assignee = ?": assignee}
        )
        rows = self._read.execute(sql + " ORDER BY opened_at DESC, id DESC", args)
        return only_overdue([incident_out(r) for r in rows], overdue)

    def get_incident(self, incident_id: str) -> dict[str, Any] | None:
        row = self._read.execute("SELECT * FROM incidents WHERE id = ?", (incident_id,)).fetchone()
        if row is None:
            return None
        incident = incident_out(row)
        incident["entries"] = [
            entry_out(e)
            for e in self._read.execute(
                "SELECT * FROM incident_entries WHERE incident_id = ? ORDER BY at, id",
                (incident_id,),
            )
        ]
        incident["history"] = [
            dict(change)
            for change in self._read.execute(
                "SELECT at, change, value, previous, reason, author, command_id"
                " FROM incident_changes WHERE incident_id = ? ORDER BY at, id",
                (incident_id,),
            )
        ]
        incident["commands"] = [
            {k: v for k, v in command_out(c).items() if k != "site"}
            for c in self._read.execute(
                "SELECT * FROM commands WHERE incident_id = ? ORDER BY created_at, id",
                (incident_id,),
            )
        ]
        return incident

    def logbook(self, site: str, day: date, raw: bool = False) -> list[dict[str, Any]]:
        """A site's day across its posts; `raw` adds each event's `data` and `pii`."""
        start, end = self.day_bounds(day)
        rows = self._read.execute(
            "SELECT device, seq, id, at, type, record_id, data, pii FROM events"
            " WHERE site = ? AND at >= ? AND at < ? ORDER BY at, device, seq",
            (site, start, end),
        )
        shown = as_purged(self._read, rows, site)
        return [{"device": r["device"], **logbook_line(r, raw)} for r in shown]

    def line_names(self, site: str, lines: list[dict[str, Any]]) -> Names:
        """What a site's lines (with `data`) name: their visitors' names and units, their
        incidents' titles, the names of the hub's guards who made them
        (`service.logbook_words.Names`)."""
        visits, incidents, badges = wanted(lines)
        conn, here = self._read, (" AND site = ?", (site,))
        return {
            "visits": {
                r["id"]: {"visitor_name": r["visitor_name"], "unit": r["unit"]}
                for r in rows_with_ids(
                    conn, "SELECT id, visitor_name, unit FROM visits", visits, *here
                )
            },
            "incidents": {
                r["id"]: r["title"]
                for r in rows_with_ids(conn, "SELECT id, title FROM incidents", incidents, *here)
            },
            "people": {  # the hub's roster (a post's own guards are named by their badge)
                f"guard:{r['badge']}": r["name"]
                for r in conn.execute("SELECT badge, name FROM guards")
                if r["badge"] in badges
            },
        }


def visit_out(row: Row) -> dict[str, Any]:
    return visit_record(row, row["site"], row["device"])


def incident_out(row: Row, milestones: bool = False) -> dict[str, Any]:
    incident = dict(row)
    incident.pop("purged_at", None)
    marks = {status: incident.pop(f"{status}_at", None) for status in MILESTONES}
    if milestones:
        incident["milestones"] = {status: at for status, at in marks.items() if at}
    incident["overdue"] = is_overdue(row["status"], row["due_at"])
    return incident


def entry_out(row: Row) -> dict[str, Any]:
    entry = dict(row)
    for key in ("site", "device"):
        entry.pop(key, None)
    return entry
