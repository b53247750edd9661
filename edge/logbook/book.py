"""The `Logbook` of one post: opens the database, starts its writer, and gathers the record
families (`book.visits`, `book.incidents`, ...) with the reads that span them (the day's lines)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from schemas.ids import format_time, utc_now
from schemas.lines import logbook_line, wanted
from service import errors, sqlite
from service.logbook_words import Names
from service.photo_files import PhotoFiles
from service.purge_text import as_purged

from .accounts import Accounts
from .commands import HubCommands
from .database import (
    DB_FILE,
    ID_KEY_FILE,
    check_database,
    connect,
    is_initialised,
    migrate,
    verify_chain,
)
from .deliveries import Deliveries
from .directory import Directory
from .disk import DiskReserve
from .doors import Doors
from .family import DoorPolicy
from .incidents import Incidents
from .panic import Panic
from .patrols import Patrols
from .photos import Photos
from .preapprovals import Preapprovals
from .restore import Restore
from .retention import Retention
from .roster import Roster
from .shift_notes import ShiftNotes
from .site_settings import LocalSettings, SiteSettings
from .sync_cursor import SyncCursor
from .visits import Visits
from .watchlist import Watchlist
from .writer import Writer


class Logbook:
    """One post's logbook: its writer (`writer.py`: the only appender) and record families."""

    def __init__(
        self,
        data: Path,
        *,
        zone: ZoneInfo | None = None,
        deadlines_h: dict[str, float] | None = None,
        confirm_timeout_s: float = 90.0,
        intercom_enabled: bool = False,
        doors: DoorPolicy | None = None,
        retention_days: int = 30,
        idle_minutes: float = 10.0,
        default_lang: str = "zh-Hant",
        disk_reserve_mb: int = 0,
    ) -> None:
        if not is_initialised(data):
            raise errors.NotInitialised(
                f"{data} is not initialised; run guardpost-edge init --data {data} first"
            )
        self.data = data
        self.path = data / DB_FILE
        self.local_zone = zone or ZoneInfo("Asia/Hong_Kong")  # until the hub's site record
        self._doors = doors or DoorPolicy()
        # the post's own values; the hub's, once delivered, win (`book.settings.effective()`)
        self.local_settings = LocalSettings(
            deadlines_h=deadlines_h or LocalSettings().deadlines_h,
            retention_days=retention_days,
            held_open_s=self._doors.held_open_limit_s,
            idle_minutes=idle_minutes,
            default_lang=default_lang,
        )
        self.confirm_timeout_s = confirm_timeout_s
        self.intercom_enabled = intercom_enabled
        self.id_key = (data / ID_KEY_FILE).read_bytes()
        self.readers = sqlite.ThreadConnections(self.path, synchronous="FULL")
        check_database(self.path, "quick_check")  # before anything writes to it
        conn = connect(self.path)
        migrate(conn)
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        self.site: str = meta["site"]
        self.device: str = meta["device"]
        self.writer = Writer(self.path, conn)
        self.disk = DiskReserve(data, disk_reserve_mb)
        self.writer.check_room = self.disk.check
        self.preapprovals = Preapprovals(self)
        self.watchlist = Watchlist(self)
        self.visits = Visits(self, self.preapprovals, self.watchlist)
        self.deliveries = Deliveries(self)
        self.doors = Doors(self)
        self.incidents = Incidents(self)
        self.commands = HubCommands(self)
        self.shift_notes = ShiftNotes(self)
        self.directory = Directory(self)
        self.accounts = Accounts(self)
        self.roster = Roster(self)
        self.patrols = Patrols(self)
        self.photos = Photos(self, PhotoFiles(data))
        self.panic = Panic(self)
        self.sync = SyncCursor(self)
        self.restore = Restore(self, self.sync)
        self.retention = Retention(self)
        self.settings = SiteSettings(
            self,
            self.local_settings,
            {"roster": self.roster, "directory": self.directory, "patrols": self.patrols},
        )

    def close(self) -> None:
        self.writer.close()
        self.readers.close()

    def on_commit(self, callback: Callable[[list[dict[str, Any]]], None]) -> None:
        """Call `callback(events)` after each commit that appended events (sync, live pages)."""
        self.writer.on_commit(callback)

    @property
    def deadlines_h(self) -> dict[str, float]:
        """Hours to resolve each grade: the hub's deadlines once delivered, else the post's."""
        deadlines: dict[str, float] = self.settings.effective()["deadlines_h"]
        return deadlines

    @property
    def door_policy(self) -> DoorPolicy:
        """Which door events open incidents, with the effective held-open limit."""
        held_open_s = self.settings.effective()["held_open_s"]
        return replace(self._doors, held_open_limit_s=held_open_s)

    @property
    def patrol_missed_severity(self) -> str:
        """The grade of the incident a missed patrol run opens (the site's settings)."""
        return str(self.settings.effective()["patrol_missed_severity"])

    @property
    def disk_full(self) -> bool:
        """True while the last write failed for want of disk space (until one succeeds)."""
        return self.writer.disk_full

    @property
    def reader(self) -> sqlite3.Connection:
        """This thread's read connection (WAL: reads never wait for the writer)."""
        return self.readers.get()

    # ---- the logbook itself -----------------------------------------------------------------

    @property
    def zone(self) -> ZoneInfo:
        """The site's time zone: the hub's site record once delivered, else `--timezone`."""
        return self.settings.zone(self.local_zone)

    def day_bounds(self, day: date) -> tuple[str, str]:
        """The UTC interval [start, end) of one local date in the site's time zone."""
        start = datetime(day.year, day.month, day.day, tzinfo=self.zone)
        end = start + timedelta(days=1)
        return format_time(start), format_time(end)

    def today(self) -> date:
        return utc_now().astimezone(self.zone).date()

    def logbook(self, day: date, raw: bool = False) -> list[dict[str, Any]]:
        """The day's lines in seq order; `raw` adds each event's `data` and `pii` (for pages
        that word the lines in their own language)."""
        start, end = self.day_bounds(day)
        rows = self.reader.execute(
            "SELECT seq, id, at, type, record_id, data, pii FROM events WHERE at >= ?"
            " AND at < ? ORDER BY seq",
            (start, end),
        )
        return [logbook_line(r, raw) for r in as_purged(self.reader, rows)]

    def line_names(self, lines: list[dict[str, Any]]) -> Names:
        """What these lines (with `data`) name, from the projection tables: their visitors'
        names and units, their incidents' titles, and the names of the guards and keys who
        made them (`service.logbook_words.Names`)."""
        visits, incidents, _badges = wanted(lines)
        conn = self.reader
        people = {f"guard:{r[0]}": r[1] for r in conn.execute("SELECT badge, name FROM guards")}
        people |= {f"key:{r[0]}": r[1] for r in conn.execute("SELECT id, name FROM api_keys")}
        return {
            "visits": {
                r["id"]: {"visitor_name": r["visitor_name"], "unit": r["unit"]}
                for r in sqlite.rows_with_ids(
                    conn, "SELECT id, visitor_name, unit FROM visits", visits
                )
            },
            "incidents": {
                r["id"]: r["title"]
                for r in sqlite.rows_with_ids(conn, "SELECT id, title FROM incidents", incidents)
            },
            "people": people,
        }

    def verify(self) -> tuple[int, int | None]:
        """Check the whole chain: (events checked, first bad seq or None)."""
        return verify_chain(self.reader)


@contextmanager
def opened(data: Path, **kwargs: Any) -> Iterator[Logbook]:
    """A Logbook that is closed afterwards (for the CLI)."""
    book = Logbook(data, **kwargs)
    try:
        yield book
    finally:
        book.close()
