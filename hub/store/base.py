"""The store's connections: one writer connection behind a lock for every write transaction,
a connection per reading thread, and what every part of the store shares (meta values, the
site's day bounds, the site filter)."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from schemas.ids import format_time
from schemas.projection import summarise
from service import sqlite

from .schema import DB_FILE, SYNCHRONOUS, connect, create_schema, is_initialised


class StoreBase:
    """The hub's database. Reads on per-thread connections; ingest on one writer connection."""

    def __init__(self, data: Path, zone: ZoneInfo | None = None) -> None:
        if not is_initialised(data):
            raise FileNotFoundError(f"{data} is not initialised")
        self.path = data / DB_FILE
        self.zone = zone or ZoneInfo("Asia/Hong_Kong")
        self._readers = sqlite.ThreadConnections(self.path, synchronous=SYNCHRONOUS)
        self._write_lock = threading.Lock()
        self._writer = connect(self.path)
        create_schema(self._writer)
        self._backfill_search()

    def _backfill_search(self) -> None:
        """A hub made before logbook search: index what it holds, once."""
        if (
            self._writer.execute("SELECT 1 FROM search_lines LIMIT 1").fetchone()
            or not self._writer.execute("SELECT 1 FROM events LIMIT 1").fetchone()
        ):
            return
        with self.transaction() as conn:
            rows = conn.execute("SELECT site, device, seq, at, type, data, pii FROM events")
            while batch := rows.fetchmany(5000):
                conn.executemany(
                    "INSERT OR IGNORE INTO search_lines (site, device, seq, at, type, summary)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (
                            r["site"],
                            r["device"],
                            r["seq"],
                            r["at"],
                            r["type"],
                            summarise(
                                r["type"],
                                json.loads(r["data"]),
                                json.loads(r["pii"]) if r["pii"] else None,
                            ),
                        )
                        for r in batch
                    ],
                )

    def close(self) -> None:
        self._writer.close()
        self._readers.close()

    @property
    def _read(self) -> sqlite3.Connection:
        return self._readers.get()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._write_lock, sqlite.transaction(self._writer) as conn:
            yield conn

    def checkpoint(self) -> bool:
        """Copy the WAL into the database and truncate it, so purged bytes leave the WAL too."""
        with self._write_lock:
            busy = self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        return not busy

    def get_meta(self, key: str) -> str | None:
        row = self._read.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

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
