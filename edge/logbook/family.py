"""What every record family of the logbook shares: the parts of its logbook it may use (a
protocol, so no family imports the module that assembles them all), the post's door rules,
and, for what the hub sends down as a versioned message (the watch list, the site's settings,
the directory), applying a version once and in order."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from service.sqlite import ThreadConnections

from .writer import Writer


@dataclass(frozen=True)
class DoorPolicy:
    """Which door events open an incident by themselves, and how severe it is."""

    forced_severity: str = "severe"
    held_open_severity: str = "medium"
    held_open_limit_s: float = 120.0


class LogbookParts(Protocol):
    """What a family reads of its logbook: the post, its rules, the writer and the readers."""

    site: str
    device: str
    id_key: bytes
    confirm_timeout_s: float
    intercom_enabled: bool
    writer: Writer
    readers: ThreadConnections

    @property
    def deadlines_h(self) -> dict[str, float]: ...  # the hub's, once delivered

    @property
    def door_policy(self) -> DoorPolicy: ...

    @property
    def patrol_missed_severity(self) -> str: ...  # the hub's, once delivered

    @property
    def reader(self) -> sqlite3.Connection: ...

    @property
    def zone(self) -> ZoneInfo: ...  # the site's time zone

    def day_bounds(self, day: date) -> tuple[str, str]: ...


class Family:
    """One group of records (visits, incidents, ...): owns their SQL, commands and reads."""

    def __init__(self, book: LogbookParts) -> None:
        self.book = book
        self.writer = book.writer


class VersionedFamily(Family):
    """Records the hub replaces as a whole with a numbered version (`message_type` on the
    site's `down` topic). Its version is kept in `meta` as `{message_type}_version`."""

    message_type: ClassVar[str]

    def version(self, conn: sqlite3.Connection | None = None) -> int:
        """The version applied here; 0 for none."""
        conn = conn or self.book.reader
        row = conn.execute(
            "SELECT value FROM meta WHERE key = ?", (f"{self.message_type}_version",)
        ).fetchone()
        return int(row[0]) if row else 0

    def apply_version(
        self,
        message: dict[str, Any],
        replace: Callable[[sqlite3.Connection], None],
        applied: Callable[[sqlite3.Connection, int, bool], BaseModel],
    ) -> bool:
        """Apply the hub's message once per message id: `replace(conn)` only when its version
        is newer than the one here (an older one arriving late never undoes a newer), and in
        any case the `{message_type}.applied` event, built by `applied(conn, version in force,
        replaced)`, which tells the hub it arrived. True if the message was new."""
        message_id, version = str(message["id"]), int(message["version"])
        event_type = f"{self.message_type}.applied"

        def work(conn: sqlite3.Connection) -> bool:
            if conn.execute(
                "SELECT 1 FROM events WHERE record_id = ? AND type = ?", (message_id, event_type)
            ).fetchone():
                return False
            current = self.version(conn)
            is_newer = version > current
            if is_newer:
                replace(conn)
                conn.execute(
                    "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                    (f"{self.message_type}_version", str(version)),
                )
            self.writer.append(
                conn, event_type, message_id, applied(conn, max(version, current), is_newer)
            )
            return True

        return self.writer.write(work)
