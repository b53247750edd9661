"""What the hub's view of patrol rounds and the reports read: each round's schedules over a
period (as they were then, removed rounds too), the posts' scans, and the names of every
checkpoint a site ever had (a removed one keeps its name in history)."""

from __future__ import annotations

import json
from typing import Any

from .base import StoreBase


class PatrolHistory(StoreBase):
    """Reads of `round_schedules`, `rounds`, `checkpoints` and `patrol_scans`."""

    def sites_with_rounds(self, start: str, end: str) -> set[str]:
        """The sites with a round in force at some time in [start, end) (one query: a report
        of the whole company asks per site only for these)."""
        rows = self._read.execute(
            "SELECT DISTINCT site FROM round_schedules WHERE valid_from < ?"
            " AND (valid_until IS NULL OR valid_until > ?)",
            (end, start),
        )
        return {r["site"] for r in rows}

    def round_schedules(self, site: str, start: str, end: str) -> list[dict[str, Any]]:
        """The schedules of the site's rounds in force at some time in [start, end), oldest
        first, each with its round's name and whether it is the round's first."""
        rows = self._read.execute(
            "SELECT s.round_id, r.name, s.checkpoints, s.every_minutes, s.window_minutes,"
            " s.from_time, s.to_time, s.valid_from, s.valid_until,"
            " (SELECT MIN(f.valid_from) FROM round_schedules f WHERE f.round_id = s.round_id)"
            " AS first_from"
            " FROM round_schedules s JOIN rounds r ON r.id = s.round_id"
            " WHERE s.site = ? AND s.valid_from < ?"
            " AND (s.valid_until IS NULL OR s.valid_until > ?)"
            " ORDER BY s.valid_from, s.round_id",
            (site, end, start),
        )
        return [
            {
                **dict(r),
                "checkpoints": json.loads(r["checkpoints"]),
                "is_first": r["valid_from"] == r["first_from"],
            }
            for r in rows
        ]

    def patrol_scans(self, site: str, start: str, end: str) -> list[dict[str, Any]]:
        """The site's scans (every post's) made in [start, end) that counted for a round,
        oldest first."""
        rows = self._read.execute(
            "SELECT checkpoint_id, round_id, scanned_at FROM patrol_scans"
            " WHERE site = ? AND scanned_at >= ? AND scanned_at < ? AND round_id IS NOT NULL"
            " ORDER BY scanned_at",
            (site, start, end),
        )
        return [dict(r) for r in rows]

    def checkpoint_names(self, site: str) -> dict[str, str]:
        """{id: name} of every checkpoint the site has had, removed ones too."""
        rows = self._read.execute("SELECT id, name FROM checkpoints WHERE site = ?", (site,))
        return {r["id"]: r["name"] for r in rows}
