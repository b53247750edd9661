"""The directory: the building's units, their intercom addresses and residents."""

from __future__ import annotations

import builtins
import sqlite3
from typing import Any

from schemas.ids import format_time, utc_now

from .family import Family


class Directory(Family):
    """`book.directory`: the units a visitor can be registered to."""

    def import_now(self, rows: builtins.list[dict[str, str]]) -> tuple[int, int]:
        """Upsert the directory; (added, updated)."""

        def work(conn: sqlite3.Connection) -> tuple[int, int]:
            added = updated = 0
            now = format_time(utc_now())
            for row in rows:
                exists = conn.execute(
                    "SELECT 1 FROM units WHERE unit = ?", (row["unit"],)
                ).fetchone()
                conn.execute(
                    "INSERT INTO units (unit, intercom, residents, updated_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (unit) DO UPDATE SET intercom = excluded.intercom,"
                    " residents = excluded.residents, updated_at = excluded.updated_at",
                    (row["unit"], row.get("intercom") or None, row.get("residents") or None, now),
                )
                if exists:
                    updated += 1
                else:
                    added += 1
            return added, updated

        return self.writer.write(work)

    def list(self, prefix: str = "", limit: int = 20) -> builtins.list[dict[str, Any]]:
        """Units whose name starts with `prefix`, or whose residents contain it."""
        rows = self.book.reader.execute(
            "SELECT unit, intercom, residents FROM units WHERE unit LIKE ? ESCAPE '\\'"
            " OR residents LIKE ? ESCAPE '\\' ORDER BY unit LIMIT ?",
            (_like(prefix) + "%", "%" + _like(prefix) + "%", limit),
        )
        return [dict(r) for r in rows]


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
