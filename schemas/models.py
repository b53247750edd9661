"""Pydantic models of every record, event and API body that edge and hub share.

The field names are the contract's (CONTRACT.md sections 2-4); `scripts/export_schemas.py`
writes their JSON Schemas to `schemas/json/` for integrators.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)
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


def Text(max_length: int, multiline: bool = False) -> Any:  # noqa: N802 - reads as a type
    """A required string: stripped, at most `max_length` characters, with something visible
    in it, no control characters (and no line breaks unless `multiline`)."""
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length),
        AfterValidator(_free_text if multiline else _one_line),
        AfterValidator(_required),
    ]


def OptionalText(max_length: int, multiline: bool = False) -> Any:  # noqa: N802
    """As `Text`, but may be empty."""
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, max_length=max_length),
        AfterValidator(_free_text if multiline else _one_line),
        AfterValidator(_visible),
    ]


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


class Decision(StrEnum):
    approve = "approve"
    deny = "deny"


# A time from outside: RFC 3339 with its offset (a naive time is 422 saying the offset is
# needed), between the years 2000 and 2100.
Moment = Annotated[datetime, AfterValidator(check_moment)]
# A `?date=` query value: YYYY-MM-DD, a real date from 2000-01-01 to 2100-12-31.
Day = Annotated[date, BeforeValidator(parse_day)]


# ---------------------------------------------------------------------------------------------
# request bodies


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class LoginIn(Body):
    badge: Text(64)  # type: ignore[valid-type]
    pin: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class VisitIn(Body):
    visitor_name: Text(200)  # type: ignore[valid-type]
    unit: Text(32)  # type: ignore[valid-type]
    category: Category
    id_number: Annotated[
        str | None,
        StringConstraints(strip_whitespace=True, max_length=40),
        AfterValidator(_one_line),
        AfterValidator(_visible),
        Field(description="Government ID number. Never stored or returned: masked + keyed HMAC."),
    ] = None
    phone: OptionalText(40) | None = None  # type: ignore[valid-type]
    company: OptionalText(200) | None = None  # type: ignore[valid-type]
    purpose: OptionalText(500, multiline=True) | None = None  # type: ignore[valid-type]
    party_size: Annotated[int, Field(ge=1, le=50, strict=True)] = 1
    vehicle_plate: OptionalText(20) | None = None  # type: ignore[valid-type]
    notes: OptionalText(2000, multiline=True) | None = None  # type: ignore[valid-type]
    preapproval_code: Annotated[
        str | None,
        StringConstraints(strip_whitespace=True, max_length=16),
        AfterValidator(_one_line),
        AfterValidator(_visible),
        Field(
            description="A resident's pre-approval code for this unit: the visit is approved "
            "at once, without ringing the flat. 422 if unknown, expired, used or "
            "for another unit."
        ),
    ] = None


class OverrideIn(Body):
    reason: Text(500, multiline=True)  # type: ignore[valid-type]


class DoorEventIn(Body):
    door: Text(64)  # type: ignore[valid-type]
    kind: DoorKind
    reason: OptionalText(500, multiline=True) | None = None  # type: ignore[valid-type]
    visit_id: OptionalText(64) | None = None  # type: ignore[valid-type]
    occurred_at: Moment | None = Field(
        default=None, description="When the door controller saw it; defaults to now."
    )
    duration_s: float | None = Field(
        default=None,
        ge=0,
        le=7 * 86400,
        description="held_open: how long the door has been open. An incident opens when this "
        "reaches the post's held-open limit, or when it is left out.",
    )


class IncidentIn(Body):
    category: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
        AfterValidator(_one_line),
        AfterValidator(_required),
        Field(description="complaint, emergency, dispute, equipment, security, ... (free)"),
    ]
    severity: Severity
    title: Text(200)  # type: ignore[valid-type]
    description: OptionalText(5000, multiline=True) | None = None  # type: ignore[valid-type]
    location: OptionalText(200) | None = None  # type: ignore[valid-type]
    visit_id: OptionalText(64) | None = None  # type: ignore[valid-type]
    channel: Channel | None = None


class EntryIn(Body):
    kind: EntryKind
    text: Text(5000, multiline=True)  # type: ignore[valid-type]


class StatusIn(Body):
    status: IncidentStatus


class ShiftNoteIn(Body):
    text: Text(5000, multiline=True)  # type: ignore[valid-type]


class AnswerIn(Body):
    request_id: Text(64)  # type: ignore[valid-type]
    decision: Decision


class PreapprovalIn(Body):
    unit: Text(32)  # type: ignore[valid-type]
    valid_until: Moment = Field(description="the code stops working at this time")
    valid_from: Moment | None = Field(default=None, description="default: now")
    visitor_name: OptionalText(200) | None = Field(  # type: ignore[valid-type]
        default=None, description="who the resident expects (shown to the guard)"
    )
    code: Annotated[
        str | None,
        StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{4,12}$"),
        Field(description="4-12 digits chosen by the resident; default: 6 random digits"),
    ] = None


class WatchlistEntryIn(Body):
    id_number: Annotated[
        str | None,
        StringConstraints(strip_whitespace=True, max_length=40),
        AfterValidator(_one_line),
        AfterValidator(_visible),
        Field(description="Kept only as the company's keyed HMAC, never in clear."),
    ] = None
    name: OptionalText(200) | None = None  # type: ignore[valid-type]
    reason: Text(500, multiline=True)  # type: ignore[valid-type]
    severity: Severity = Severity.severe


# ---------------------------------------------------------------------------------------------
# records (what the API answers)


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GuardOut(Record):
    badge: str
    name: str
    role: Role


class LoginOut(Record):
    token: str
    expires_at: str
    guard: GuardOut


class Confirmation(Record):
    status: ConfirmationStatus
    request_id: str | None = None
    answered_at: str | None = None


class Visit(Record):
    id: str
    site: str
    device: str
    visitor_name: str | None = Field(description="null once purged after retention")
    id_number_masked: str | None = Field(description="first character and last 4, e.g. A****567(8)")
    unit: str
    category: Category
    phone: str | None
    company: str | None
    purpose: str | None
    party_size: int
    vehicle_plate: str | None
    notes: str | None
    checked_in_at: str
    checked_out_at: str | None
    guard: str | None = Field(description="badge of the guard who registered the visit")
    confirmation: Confirmation
    flag: str | None = Field(
        default=None, description="watch_list when the visitor matched the watch list"
    )


class VisitList(Record):
    visits: list[Visit]


class DoorEvent(Record):
    id: str
    site: str
    device: str
    door: str
    kind: DoorKind
    reason: str | None
    visit_id: str | None
    occurred_at: str
    recorded_at: str
    guard: str | None = Field(description="badge, when a guard logged it")
    api_key: str | None = Field(description="key name, when a door controller logged it")
    incident_id: str | None = Field(
        default=None, description="the incident this event opened (forced, long held_open)"
    )


class IncidentEntry(Record):
    id: str
    incident_id: str
    kind: EntryKind
    text: str
    at: str
    guard: str | None
    author: str = Field(description="who wrote it: guard:BADGE, key:NAME or hub:USERNAME")


class Incident(Record):
    id: str
    site: str
    device: str
    category: str
    severity: Severity
    title: str
    description: str | None
    location: str | None
    visit_id: str | None
    channel: Channel | None
    status: IncidentStatus
    opened_at: str
    due_at: str
    updated_at: str
    overdue: bool = Field(description="not yet resolved and past due_at")
    guard: str | None
    entries: list[IncidentEntry] | None = None


class IncidentList(Record):
    incidents: list[Incident]


class ShiftNote(Record):
    id: str
    site: str
    device: str
    text: str
    at: str
    guard: str | None


class LogbookEntry(Record):
    seq: int
    at: str
    type: str
    record_id: str
    summary: str


class Logbook(Record):
    entries: list[LogbookEntry]


class SyncState(Record):
    site: str
    device: str
    last_seq: int
    acked_seq: int
    backlog: int
    connected: bool
    last_ack_at: str | None


class Health(Record):
    ok: bool


class Preapproval(Record):
    id: str
    unit: str
    code: str | None = Field(description="given once, in the answer that creates it")
    visitor_name: str | None
    valid_from: str
    valid_until: str
    created_at: str
    used_at: str | None
    visit_id: str | None


class WatchlistEntry(Record):
    id: str
    id_hmac: str | None = Field(description="keyed HMAC of the ID number; never the number")
    id_number_masked: str | None
    name: str | None
    reason: str
    severity: Severity
    created_at: str
    by: str


class Watchlist(Record):
    version: int
    entries: list[WatchlistEntry]


# ---------------------------------------------------------------------------------------------
# events (CONTRACT section 4)

EventType = Literal[
    "visit.registered",
    "visit.confirmation",
    "visit.checked_out",
    "door.event",
    "incident.opened",
    "incident.entry",
    "incident.status",
    "shift.note",
    "pii.purged",
    "preapproval.created",
    "watchlist.applied",
]


class Event(Record):
    """One logbook event. `hash` covers every field but `hash` and `pii`."""

    seq: int = Field(ge=1, description="1, 2, 3, ... per device, no gaps")
    id: str
    type: EventType
    at: str = Field(description="the device's clock when the event was appended")
    record_id: str
    data: dict[str, Any]
    pii: dict[str, Any] | None = Field(
        description="personal fields with a random salt, or null (none, or purged)"
    )
    pii_digest: str | None
    prev_hash: str
    hash: str


class VisitPii(Record):
    """`pii` of `visit.registered`: everything about the person; null after purge."""

    salt: str
    visitor_name: str
    id_number_masked: str | None
    phone: str | None
    vehicle_plate: str | None
    notes: str | None


class VisitRegisteredData(Record):
    unit: str
    category: Category
    company: str | None
    purpose: str | None
    party_size: int
    checked_in_at: str
    confirmation: Confirmation
    by: str
    preapproval_id: str | None = Field(default=None, description="the code that approved it")
    flag: str | None = Field(default=None, description="watch_list: matched the watch list")


class VisitConfirmationData(Record):
    confirmation: Confirmation
    reason: str | None = None
    by: str


class VisitCheckedOutData(Record):
    checked_out_at: str
    by: str


class DoorEventData(Record):
    door: str
    kind: DoorKind
    reason: str | None
    visit_id: str | None
    occurred_at: str
    by: str
    duration_s: float | None = None


class IncidentOpenedData(Record):
    category: str
    severity: Severity
    title: str
    description: str | None
    location: str | None
    visit_id: str | None
    channel: Channel | None
    due_at: str
    by: str


class IncidentEntryData(Record):
    incident_id: str
    kind: EntryKind
    text: str
    by: str


class IncidentStatusData(Record):
    status: IncidentStatus
    previous: IncidentStatus
    by: str


class ShiftNoteData(Record):
    text: str
    by: str


class PiiPurgedData(Record):
    """A purge: the `pii` of the listed seqs became null, and the visits' personal fields too."""

    older_than: str = Field(description="visits checked in before this time were purged")
    seqs: list[int]
    visits: int
    by: str


class PreapprovalCreatedData(Record):
    """A resident expects a visitor: the code itself stays on the post (only its HMAC)."""

    unit: str
    valid_from: str
    valid_until: str
    by: str


class PreapprovalPii(Record):
    salt: str
    visitor_name: str | None


class WatchlistAppliedData(Record):
    """The post now matches registrations against this version of the hub's watch list."""

    version: int
    entries: int
    by: str


EVENT_DATA: dict[str, type[BaseModel]] = {
    "visit.registered": VisitRegisteredData,
    "visit.confirmation": VisitConfirmationData,
    "visit.checked_out": VisitCheckedOutData,
    "door.event": DoorEventData,
    "incident.opened": IncidentOpenedData,
    "incident.entry": IncidentEntryData,
    "incident.status": IncidentStatusData,
    "shift.note": ShiftNoteData,
    "pii.purged": PiiPurgedData,
    "preapproval.created": PreapprovalCreatedData,
    "watchlist.applied": WatchlistAppliedData,
}

RECORDS: dict[str, type[BaseModel]] = {
    "event": Event,
    "visit": Visit,
    "visit_pii": VisitPii,
    "confirmation": Confirmation,
    "door_event": DoorEvent,
    "incident": Incident,
    "incident_entry": IncidentEntry,
    "shift_note": ShiftNote,
    "logbook_entry": LogbookEntry,
    "sync_state": SyncState,
    "preapproval": Preapproval,
    "watchlist": Watchlist,
}
