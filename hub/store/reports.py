"""What the daily and monthly reports count, and a post's uptime from its status history."""

from __future__ import annotations

from typing import Any

from schemas.ids import format_time, parse_time, utc_now

from .base import StoreBase, site_filter
from .engine import Row
from .reads import incident_out, visit_out


class Reports(StoreBase):
    """Counting queries over `visits`, `door_events`, `incidents` and `device_status_log`."""

    def report_rows(
        self, sites: list[str] | None, start: str, end: str, *, visits: bool = True
    ) -> dict[str, Any]:
        """What the daily and monthly reports count, for [start, end): visits by category
        (and each visit, if `visits`), door events by kind and the guard's overrides, and the
        incidents opened, each with when it was first acknowledged and resolved and the kinds
        of its timeline entries. The counting is done here, in SQL, so that a month of the
        whole company does not travel through Python row by row."""
        where, args = site_filter("WHERE 1=1", [], sites)

        def rows(sql: str, column: str, tail: str = "") -> list[Row]:
            return self._read.execute(
                f"{sql} {where} AND {column} >= ? AND {column} < ? {tail}", (*args, start, end)
            ).fetchall()

        by_category = {
            r["category"]: r["n"]
            for r in rows(
                "SELECT category, COUNT(*) AS n FROM visits", "checked_in_at", "GROUP BY category"
            )
        }
        door_counts = {
            r["kind"]: r["n"]
            for r in rows(
                "SELECT kind, COUNT(*) AS n FROM door_events", "occurred_at", "GROUP BY kind"
            )
        }
        overrides = (
            [
                dict(r)
                for r in rows(
                    "SELECT * FROM door_events",
                    "occurred_at",
                    "AND kind = 'guard_override' ORDER BY occurred_at",
                )
            ]
            if visits
            else []
        )
        incidents = [
            incident_out(r, milestones=True)
            for r in rows("SELECT * FROM incidents", "opened_at", "ORDER BY opened_at")
        ]
        kinds: dict[str, set[str]] = {}
        for row in rows(
            "SELECT DISTINCT incident_id, kind FROM incident_entries WHERE"
            " incident_id IN (SELECT id FROM incidents",
            "opened_at",
            ")",
        ):
            kinds.setdefault(row["incident_id"], set()).add(row["kind"])
        for incident in incidents:
            incident["entry_kinds"] = sorted(kinds.get(incident["id"], set()))
        return {
            "visits": [
                visit_out(v)
                for v in rows("SELECT * FROM visits", "checked_in_at", "ORDER BY checked_in_at")
            ]
            if visits
            else [],
            "visit_total": sum(by_category.values()),
            "visits_by_category": by_category,
            "door_counts": door_counts,
            "overrides": overrides,
            "incidents": incidents,
        }

    def uptimes(
        self, sites: list[str] | None, start: str, end: str
    ) -> dict[tuple[str, str], float | None]:
        """For every post of `sites` (None: all) the hub has heard from, the share of
        [start, end) (up to now; for a new post, from when the hub first heard it) it was
        connected, from its status changes (one query for them all)."""
        end = min(end, format_time(utc_now()))
        where, args = site_filter("WHERE at < ?", [end], sites)
        history: dict[tuple[str, str], list[Row]] = {}
        for row in self._read.execute(
            f"SELECT site, device, at, online FROM device_status_log {where} ORDER BY at", args
        ):
            history.setdefault((row["site"], row["device"]), []).append(row)
        return {post: _uptime(rows, start, end) for post, rows in history.items()}


def _uptime(rows: list[Row], start: str, end: str) -> float | None:
    """The share of [start, end) online, from a post's status changes before `end`."""
    before = [r for r in rows if r["at"] < start]
    inside = [r for r in rows if r["at"] >= start]
    state = before[-1]["online"] if before else None
    cursor = start if before else (inside[0]["at"] if inside else None)
    if cursor is None:
        return None
    online_s = 0.0
    for row in inside:
        if state:
            online_s += (parse_time(row["at"]) - parse_time(cursor)).total_seconds()
        state, cursor = row["online"], row["at"]
    if state:
        online_s += (parse_time(end) - parse_time(cursor)).total_seconds()
    # a post that joined during the period is counted from when the hub first heard it
    first = start if before else inside[0]["at"]
    total = (parse_time(end) - parse_time(first)).total_seconds()
    return round(online_s / total, 4) if total > 0 else None
