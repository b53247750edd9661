"""Field types and text rules of the request bodies and records: what a string may hold, the
enumerations of the contract, and the times and dates that come from outside.

A text field is `Annotated[str, TextRules(200)]`: stripped, at most 200 characters, something
visible in it, no control characters (and no line breaks unless `multiline`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from annotated_types import GroupedMetadata
from pydantic import AfterValidator, BeforeValidator, StringConstraints
from pydantic_core import PydanticCustomError

from .ids import check_moment, parse_day

# characters that show nothing: zero-width and other format characters (Unicode category Cf:
# U+200B..U+200F, U+2060, U+FEFF, the bidi controls) and the blank "letters" some keyboards
# offer; a required field holding only these and spaces looks filled in and says nothing
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def is_blank(value: str) -> bool:
    """True when `value` shows nothing: only whitespace, format characters and blank letters."""
    return all(c.isspace() or c in _BLANK_LETTERS or unicodedata.category(c) == "Cf" for c in value)


# Unicode category Cc (C0, DEL, C1) and lone surrogates (Cs); one-line fields also refuse the
# line and paragraph separators
_CONTROL_FREE_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def control_character(value: str, multiline: bool = False) -> str | None:
    """The first character a field must not hold, or None: a control character (a NUL, an
    escape, DEL, the C1 range), a lone surrogate, and in a one-line field also a line break
    or tab (U+2028/U+2029 included); free text (`multiline`) keeps newlines and tabs."""
    found = (_CONTROL_FREE_TEXT if multiline else _CONTROL_ONE_LINE).search(value)
    return found.group() if found else None


def _one_line(value: str | None) -> str | None:
    if value is not None and control_character(value) is not None:
        raise PydanticCustomError(
            "control_character", "must not contain control characters or line breaks"
        )
    return value


def _free_text(value: str | None) -> str | None:
    if value is not None and control_character(value, multiline=True) is not None:
        raise PydanticCustomError("control_character", "must not contain control characters")
    return value


def _visible(value: str | None) -> str | None:
    # an optional field may be empty (or null), but not filled with what shows nothing
    if value and is_blank(value):
        raise PydanticCustomError("blank", "must not be only spaces or invisible characters")
    return value


def _required(value: str) -> str:
    if is_blank(value):
        raise PydanticCustomError("blank", "must not be empty or only invisible characters")
    return value


@dataclass(frozen=True)
class TextRules(GroupedMetadata):
    """The rules of a text field, as `Annotated` metadata: `Annotated[str, TextRules(200)]`.

    Stripped, at most `max_length` characters, no control characters (and no line breaks
    unless `multiline`); something visible in it, or, if `may_be_empty`, nothing or something
    visible. Pydantic unpacks the group, so the schema is that of the constraints one by one.
    """

    max_length: int
    multiline: bool = False
    may_be_empty: bool = False

    def __iter__(self) -> Iterator[object]:
        # pydantic unpacks one level of grouping: unpack StringConstraints here
        yield from StringConstraints(
            strip_whitespace=True,
            min_length=None if self.may_be_empty else 1,
            max_length=self.max_length,
        )
        yield AfterValidator(_free_text if self.multiline else _one_line)
        yield AfterValidator(_visible if self.may_be_empty else _required)


class Category(StrEnum):
    guest = "guest"
    contractor = "contractor"
    delivery = "delivery"
    repair = "repair"
    other = "other"


class ConfirmationStatus(StrEnum):
    not_required = "not_required"
    pending = "pending"
    approved = "approved"
    denied = "denied"
    no_answer = "no_answer"
    overridden = "overridden"


class DoorKind(StrEnum):
    pin = "pin"
    intercom_release = "intercom_release"
    guard_override = "guard_override"
    forced = "forced"
    held_open = "held_open"
    closed = "closed"


class Severity(StrEnum):
    minor = "minor"
    medium = "medium"
    severe = "severe"


class Channel(StrEnum):
    in_person = "in_person"
    phone = "phone"
    letter = "letter"
    intercom = "intercom"
    patrol = "patrol"
    other = "other"


class IncidentStatus(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    in_progress = "in_progress"
    resolved = "resolved"
    closed = "closed"


class EntryKind(StrEnum):
    note = "note"
    action = "action"
    escalation = "escalation"
    follow_up = "follow_up"
    summary = "summary"
    police_called = "police_called"


class Role(StrEnum):
    guard = "guard"
    supervisor = "supervisor"


class SiteKind(StrEnum):
    residential = "residential"
    commercial = "commercial"


class Language(StrEnum):
    en = "en"
    zh_Hant = "zh-Hant"
    zh_Hans = "zh-Hans"


class Decision(StrEnum):
    approve = "approve"
    deny = "deny"


# A government ID number as typed (the visit and the watch list keep only its mask and HMAC)
IdNumber = Annotated[str | None, TextRules(40, may_be_empty=True)]
# A time from outside: RFC 3339 with its offset (a naive time is 422 saying the offset is
# needed), between the years 2000 and 2100.
Moment = Annotated[datetime, AfterValidator(check_moment)]
# A `?date=` query value: YYYY-MM-DD, a real date from 2000-01-01 to 2100-12-31.
Day = Annotated[date, BeforeValidator(parse_day)]


def known_zone(value: str) -> str:
    """`value` if it names an IANA time zone (`Asia/Hong_Kong`); a ValueError otherwise."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value
