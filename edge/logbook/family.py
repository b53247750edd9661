"""What every record family of the logbook shares: the parts of its logbook it may use (a
protocol, so no family imports the module that assembles them all) and the post's door rules."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date
from typing import Protocol

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

    @property
    def site(self) -> str: ...
    @property
    def device(self) -> str: ...
    @property
    def id_key(self) -> bytes: ...
    @property
    def deadlines_h(self) -> dict[str, float]: ...
    @property
    def confirm_timeout_s(self) -> float: ...
    @property
    def intercom_enabled(self) -> bool: ...
    @property
    def door_policy(self) -> DoorPolicy: ...
    @property
    def writer(self) -> Writer: ...
    @property
    def readers(self) -> ThreadConnections: ...
    @property
    def reader(self) -> sqlite3.Connection: ...
    def day_bounds(self, day: date) -> tuple[str, str]: ...


class Family:
    """One group of records (visits, incidents, ...): owns their SQL, commands and reads."""

    def __init__(self, book: LogbookParts) -> None:
        self.book = book
        self.writer = book.writer
