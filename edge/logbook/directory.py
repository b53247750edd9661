"""The directory: the building's units, their intercom addresses and residents; imported on
the post (`import-units`), or replaced as a whole by the hub's version for the site."""

from __future__ import annotations

import builtins
import sqlite3
from typing import Any

from pydantic import BaseModel, TypeAdapter

from schemas.directory import UnitIn
from schemas.ids import format_time, utc_now
from schemas.models import DirectoryAppliedData

from .family import VersionedFamily

UNITS = TypeAdapter(builtins.list[UnitIn])


class Directory(VersionedFamily):
    """`book.directory`: the units a visitor can be registered to."""

    message_type = "directory"

    def apply_now(self, message: dict[str, Any]) -> bool:
        """Replace the directory with the hub's newer version (once per message id; the
        `directory.applied` event tells the hub it arrived). True if the message was new."""
        units = UNITS.validate_python(message.get("units") or [])

        def replace(conn: sqlite3.Connection) -> None:
            now = format_time(utc_now())
            conn.execute("DELETE FROM units")
            conn.executemany(
                "INSERT OR REPLACE INTO units (unit, intercom, residents, updated_at)"
                " VALUES (?, ?, ?, ?)",
                [(u.unit, u.intercom or None, u.residents or None, now) for u in units],
            )

        def applied(conn: sqlite3.Connection, in_force: int, replaced: bool) -> BaseModel:
            count = conn.execute("SELECT COUNT(*) FROM units").fetchone()[0]
            return DirectoryAppliedData(version=in_force, units=int(count), by="hub:directory")

        return self.apply_version(message, replace, applied)

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
