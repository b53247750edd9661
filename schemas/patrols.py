"""Patrol rounds (CONTRACT section 9): the checkpoints and rounds a manager defines at the hub,
the `patrols` message that takes them to the posts, a guard's scan, a day's rounds as the post
judges them, the panic button's body, and the data of the `patrols.applied`, `patrol.scan` and
`patrol.missed` events.

A round runs every `every_minutes` from `from` to `to` (the site's local time; `to` before
`from` runs past midnight); each occurrence's window is [start, start + `window_minutes`).
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, Field

from .bodies import Body
from .fields import Moment, TextRules
from .ids import format_time
from .records import Record

HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def _hhmm(value: str) -> str:
    if not HHMM.match(value):
        raise ValueError("a time of day as HH:MM, 00:00 to 23:59")
    return value


TimeOfDay = Annotated[str, TextRules(5), AfterValidator(_hhmm)]
RunState = Literal["done", "late", "missed", "open"]


class CheckpointIn(Body):
    name: Annotated[str, TextRules(200)]
    location: Annotated[str, TextRules(200, may_be_empty=True)] | None = None


class CheckpointCreated(Record):
    id: str
    code: str = Field(description="the string the checkpoint's printed QR code holds")


class Checkpoint(Record):
    id: str
    name: str
    location: str | None
    code: str


class RoundIn(Body):
    name: Annotated[str, TextRules(200)]
    checkpoints: list[Annotated[str, TextRules(64)]] = Field(
        min_length=1, max_length=100, description="checkpoint ids, in the order walked"
    )
    every_minutes: int = Field(ge=1, le=1440, strict=True)
    window_minutes: int = Field(ge=1, le=1440, strict=True, description="at most every_minutes")
    from_: TimeOfDay = Field(default="00:00", alias="from")
    to: TimeOfDay = "23:59"


class Round(Record):
    id: str
    name: str
    checkpoints: list[str]
    every_minutes: int
    window_minutes: int
    from_: str = Field(alias="from")
    to: str


class CheckpointList(Record):
    checkpoints: list[Checkpoint]


class RoundList(Record):
    rounds: list[Round]


class ScanIn(Body):
    code: Annotated[str, TextRules(64)]
    at: Moment | None = Field(default=None, description="when it was scanned; default now")


class PanicIn(Body):
    note: Annotated[str, TextRules(2000, multiline=True, may_be_empty=True)] | None = Field(
        default=None, description="what the guard can say (free text: personal data, in `pii`)"
    )


class ScanOut(Record):
    id: str
    checkpoint: str = Field(description="the checkpoint's id")
    round: str | None = Field(description="the round it counted for, if any")
    on_time: bool = Field(description="within that round's window")


class CheckpointState(Record):
    id: str
    name: str
    scanned_at: str | None


class RoundOccurrence(Record):
    round: str = Field(description="the round's id")
    name: str
    due_at: str = Field(description="when its window closes")
    starts_at: str
    checkpoints: list[CheckpointState]
    state: RunState


class PatrolDay(Record):
    rounds: list[RoundOccurrence]


class PatrolsAppliedData(Record):
    """The post's checkpoints and rounds are now this version of the hub's, for its site."""

    version: int
    checkpoints: int
    rounds: int
    by: str


class PatrolScanData(Record):
    """A guard scanned (or typed) a checkpoint's code."""

    checkpoint: str = Field(description="the checkpoint's id")
    round: str | None
    scanned_at: str
    on_time: bool
    by: str


class PatrolMissedData(Record):
    """A round's window closed with checkpoints unscanned; `incident_id` is the incident it
    opened."""

    round: str
    starts_at: str
    due_at: str
    missing: list[str] = Field(description="the ids of the checkpoints not scanned")
    incident_id: str
    by: str


def occurrences(
    every_minutes: int, from_hhmm: str, to_hhmm: str, day_start: datetime
) -> list[datetime]:
    """The start of each occurrence on the local date that begins at `day_start` (aware, in
    the site's zone): every `every_minutes` from `from` up to and including `to`."""
    zone = day_start.tzinfo
    assert isinstance(zone, ZoneInfo)
    first = datetime.combine(day_start.date(), time.fromisoformat(from_hhmm), zone)
    last = datetime.combine(day_start.date(), time.fromisoformat(to_hhmm), zone)
    if last < first:  # overnight: to is on the next day
        last += timedelta(days=1)
    starts, start = [], first
    while start <= last:
        starts.append(start)
        start += timedelta(minutes=every_minutes)
    return starts


def run_state(
    checkpoints: list[str], scanned: dict[str, str], due: datetime, now: datetime
) -> RunState:
    """A run's state, at the post and at the hub alike: `done` when every checkpoint was
    scanned before `due` (its window's end), `open` while its window lasts, then `late` when
    every checkpoint was scanned (some after `due`) or `missed`. `scanned`: {checkpoint id:
    its first scan for the run, RFC 3339 UTC}."""
    due_at = format_time(due)
    if all(i in scanned and scanned[i] < due_at for i in checkpoints):
        return "done"
    if now < due:
        return "open"
    return "late" if all(i in scanned for i in checkpoints) else "missed"
