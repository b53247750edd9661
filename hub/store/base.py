"""What every part of the store shares: its engine (`engine.py`: SQLite or PostgreSQL, reads and
one write transaction at a time), meta values, the site's day bounds, the site filter."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from schemas.ids import format_time

from .engine import DB_FILE, Conn, Engine
from .schema import is_initialised, open_engine, resolve_db


class StoreBase:
    """The hub's database (`db`): reads on `_read`, writes in `transaction()`."""

    def __init__(self, data: Path, zone: ZoneInfo | None = None, db_url: str | None = None) -> None:
        if not is_initialised(data):
            raise FileNotFoundError(f"{data} is not initialised")
        self.path = data / DB_FILE
        self.zone = zone or ZoneInfo("Asia/Hong_Kong")
        self.db: Engine = open_engine(data, resolve_db(data, db_url))
        try:
            self.db.migrate()
            self._backfill_search()
        except BaseException:
            self.db.close()
            raise

    def _backfill_search(self) -> None:
        """A hub made before logbook search: its events' lines are owed, once (the search-index
        thread writes them, `SearchAudit.write_lines`)."""
        if (
            self._read.execute("SELECT 1 FROM search_lines LIMIT 1").fetchone()
            or self._read.execute("SELECT 1 FROM lines_pending LIMIT 1").fetchone()
            or not self._read.execute("SELECT 1 FROM events LIMIT 1").fetchone()
        ):
            return
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO lines_pending (site, device, first_seq, last_seq)"
                " SELECT site, device, MIN(seq), MAX(seq) FROM events GROUP BY site, device"
            )

    def close(self) -> None:
        self.db.close()

    @property
    def _read(self) -> Conn:
        return self.db.read

    @contextmanager
    def transaction(self) -> Iterator[Conn]:
        with self.db.transaction() as conn:
            yield conn

    def checkpoint(self) -> bool:
        """Copy the WAL into the database and truncate it, so purged bytes leave the WAL too."""
        return self.db.checkpoint()

    def get_meta(self, key: str) -> str | None:
        row = self._read.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET"
                " value = excluded.value",
                (key, value),
            )

    def count_events(self) -> int:
        return int(self._read.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def day_bounds(self, day: date) -> tuple[str, str]:
        start = datetime(day.year, day.month, day.day, tzinfo=self.zone)
        return format_time(start), format_time(start + timedelta(days=1))


def site_filter(
    sql: str, args: list[Any], sites: list[str] | None, column: str = "site"
) -> tuple[str, list[Any]]:
    """`sql` limited to `sites` (None: every site; an empty list: none)."""
    if sites is None:
        return sql, args
    return sql + f" AND {column} IN ({','.join('?' * len(sites)) or 'NULL'})", args + list(sites)
