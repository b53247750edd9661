"""Ids and time: UUIDv7 ids that sort by creation, RFC 3339 UTC timestamps, and the one check
of the dates and times people and door controllers send (`?date=`, `?month=`, `occurred_at`)."""

from __future__ import annotations

import os
import re
import threading
import time
from datetime import UTC, date, datetime

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def new_id() -> str:
    """A UUIDv7 string: 48 bits of Unix milliseconds, then a counter and random bits."""
    global _last_ms, _counter
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            # same millisecond (or the clock stepped back): keep ids monotonic within the process
            ms = _last_ms
            _counter += 1
            if _counter > 0xFFF:
                ms += 1
                _counter = 0
        else:
            _counter = 0
        _last_ms = ms
        counter = _counter
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | rand
    text = f"{value:032x}"  # as str(uuid.UUID(int=value)) writes it, without building one
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def format_time(moment: datetime) -> str:
    """RFC 3339 with milliseconds and an explicit +00:00, fixed width so strings sort like times."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: every time in Guardpost carries its offset")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 time with an offset."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("time without a UTC offset")
    return moment


def now_text() -> str:
    """`format_time(utc_now())`."""
    return format_time(utc_now())


# Dates and times from outside stay within these years: a log book of a building has nothing
# before 2000 or after 2100, and year 1 or 9999 overflow when a local date becomes UTC.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 12, 31)
DAY_RANGE = f"a date from {FIRST_DAY} to {LAST_DAY} (YYYY-MM-DD)"
MONTH_RANGE = f"a month from {FIRST_DAY:%Y-%m} to {LAST_DAY:%Y-%m} (YYYY-MM)"
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")


def check_day(day: date) -> date:
    """`day` if it is within FIRST_DAY..LAST_DAY; ValueError naming the range otherwise."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"must be {DAY_RANGE}")
    return day


def parse_day(text: object) -> date:
    """A `?date=` value: exactly `YYYY-MM-DD`, a real date, within the range; ValueError (with
    a message fit for a 422) otherwise. A `date` passes through `check_day`."""
    if isinstance(text, date) and not isinstance(text, datetime):
        return check_day(text)
    if not isinstance(text, str) or not _DAY.fullmatch(text.strip()):
        raise ValueError(f"must be {DAY_RANGE}")
    try:
        return check_day(date.fromisoformat(text.strip()))
    except ValueError:
        raise ValueError(f"must be {DAY_RANGE}") from None


def parse_month(text: str) -> date:
    """A `?month=` value, `YYYY-MM` within the range, as the first day of that month;
    ValueError (with a message fit for a 422) otherwise."""
    if not _MONTH.fullmatch(text.strip()):
        raise ValueError(f"must be {MONTH_RANGE}")
    try:
        return check_day(date.fromisoformat(text.strip() + "-01"))
    except ValueError:
        raise ValueError(f"must be {MONTH_RANGE}") from None


def check_moment(moment: datetime) -> datetime:
    """A time from outside (a door controller's `occurred_at`, a pre-approval's validity):
    it must carry its UTC offset (CONTRACT: all times are RFC 3339 with an explicit offset)
    and fall within FIRST_DAY..LAST_DAY; ValueError saying which otherwise."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            "needs its UTC offset: all times are RFC 3339 with an explicit "
            "offset, e.g. 2026-11-22T15:04:05+08:00"
        )
    if not FIRST_DAY.year <= moment.year <= LAST_DAY.year:
        raise ValueError(f"must be between {FIRST_DAY} and {LAST_DAY}")
    return moment
