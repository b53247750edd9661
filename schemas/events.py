"""Events (CONTRACT.md section 4): the logbook event, the personal data it may carry, and the
model of each type's `data` (`EVENT_DATA`), which the edge builds events from and the hub
checks them against.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from .fields import Category, Channel, DoorKind, EntryKind, IncidentStatus, Severity
from .patrols import PatrolMissedData, PatrolsAppliedData, PatrolScanData
from .photos import PhotoAttachedData, PhotoPurgedData
from .records import Confirmation, Record

EventType = Literal[
    "visit.registered",
    "visit.confirmation",
    "visit.checked_out",
    "visit.checkout_undone",
    "door.event",
    "incident.opened",
    "incident.entry",
    "incident.status",
    "shift.note",
    "pii.purged",
    "preapproval.created",
    "watchlist.applied",
    "settings.applied",
    "directory.applied",
    "roster.applied",
    "incident.assigned",
    "incident.severity",
    "command.rejected",
    "shift.acknowledged",
    "patrols.applied",
    "patrol.scan",
    "patrol.missed",
    "photo.attached",
    "photo.purged",
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
    reason: str | None = Field(
        default=None, description="only in older events: an override's reason travels in `pii` now"
    )
    by: str


class VisitCheckedOutData(Record):
    checked_out_at: str
    by: str


class VisitCheckoutUndoneData(Record):
    """A guard took back a check-out made by mistake: the visitor is on site again."""

    checked_out_at: str = Field(description="the time of the check-out that is undone")
    checkout_seq: int = Field(ge=1, description="the seq of that `visit.checked_out` event")
    by: str


class DoorEventData(Record):
    door: str
    kind: DoorKind
    reason: str | None = Field(
        default=None, description="only in older events: the reason travels in `pii` now"
    )
    visit_id: str | None
    occurred_at: str
    by: str
    duration_s: float | None = None


class IncidentOpenedData(Record):
    category: str
    severity: Severity
    title: str | None = Field(
        default=None,
        description="a title the post made (a door's, a patrol's; with `title_code` the unit); "
        "a person's words travel in `pii` (older events kept them here)",
    )
    description: str | None = Field(
        description="null since the description travels in `pii` (older events kept it here)"
    )
    location: str | None = Field(
        default=None, description="only in older events: the location travels in `pii` now"
    )
    visit_id: str | None
    channel: Channel | None
    due_at: str
    by: str
    reply_by: str | None = Field(default=None, description="the reply promised to a complainant")
    title_code: str | None = Field(
        default=None,
        description="watch_list: a title each page words in its language from the visitor's "
        "name (in `pii`) and the unit (`title`); panic: a guard's panic button, `title` names "
        "the guard and the last checkpoint scanned (`location`)",
    )


class IncidentPii(Record):
    """`pii` of `incident.opened`: the free text and the people it names; null after purge."""

    salt: str
    description: str | None
    title: str | None = Field(default=None, description="the title as the guard typed it")
    location: str | None = None
    complainant_name: str | None = None
    complainant_unit: str | None = None
    complainant_phone: str | None = None
    visitor_name: str | None = Field(default=None, description="a watch-listed visitor's name")


class IncidentEntryData(Record):
    incident_id: str
    kind: EntryKind
    text: str | None = Field(
        default=None, description="only in older events: the text travels in `pii` now"
    )
    by: str


class TextPii(Record):
    """`pii` of an event whose free text can name a person: an entry's or a shift note's
    `text`, the `reason` a person gave (a door override, a status or grade change); null after
    purge."""

    salt: str
    text: str | None = None
    reason: str | None = None


class IncidentStatusData(Record):
    status: IncidentStatus
    previous: IncidentStatus
    by: str
    reason: str | None = Field(
        default=None, description="only in older events: why, from the hub; it travels in `pii` now"
    )
    command_id: str | None = Field(default=None, description="the hub's command it carries out")


class IncidentAssignedData(Record):
    """A hub supervisor's command made a hub user the incident's assignee."""

    assignee: str = Field(description="a hub username")
    previous: str | None
    command_id: str | None
    by: str


class IncidentSeverityData(Record):
    """The incident was re-graded; `due_at` follows the new grade's deadline from its opening."""

    severity: Severity
    previous: Severity
    due_at: str
    reason: str | None = Field(
        default=None, description="only in older events: why; it travels in `pii` now"
    )
    command_id: str | None
    by: str


class CommandRejectedData(Record):
    """The post refused a command from the hub (record_id is the incident's id)."""

    command_id: str
    action: Literal["status", "assign", "severity"]
    reason: str
    by: str = Field(description="the hub user who sent the command")


class HandoverItems(Record):
    """What was open when a guard handed over (ids only: names and titles stay in their
    records, so a purge reaches them)."""

    on_site: list[str] = Field(description="the visits on site")
    held: list[str] = Field(
        description="those of them held: on the watch list, or held as a suspicious visitor"
    )
    incidents: list[str] = Field(description="the incidents not yet closed")
    overdue: list[str] = Field(description="those of them past their deadline")


class ShiftNoteData(Record):
    """A shift handover: the outgoing guard's note and what was open then."""

    text: str | None = Field(
        default=None, description="only in older events: the note travels in `pii` now"
    )
    by: str
    open_items: HandoverItems | None = Field(
        default=None, description="what was open at the handover (absent from older notes)"
    )


class ShiftAcknowledgedData(Record):
    """The incoming guard read the last handover (record_id is its shift note's id)."""

    by: str = Field(description="guard:BADGE of the guard who acknowledged it")


class PiiPurgedData(Record):
    """A purge: the `pii` of the listed seqs became null, and the personal fields of the visits
    and incidents too."""

    older_than: str = Field(
        description="visits checked in and incidents opened before this time were purged"
    )
    seqs: list[int]
    visits: int
    by: str
    incidents: int = Field(default=0, description="incidents whose personal fields were purged")


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


class SettingsAppliedData(Record):
    """The post now uses this version of the hub's settings for its site."""

    version: int
    name: str | None = Field(description="the site's name, shown instead of its slug")
    settings: dict[str, Any] = Field(description="the values set at the hub (a subset)")
    by: str


class DirectoryAppliedData(Record):
    """The post's directory is now this version of the hub's, for its site."""

    version: int
    units: int
    by: str


class RosterAppliedData(Record):
    """The post's guards from the hub are now this version of the hub's roster for its site."""

    version: int
    guards: int = Field(description="the hub's guards the post holds, disabled ones too")
    disabled: int = Field(description="how many of them are disabled")
    by: str


EVENT_DATA: dict[str, type[BaseModel]] = {
    "visit.registered": VisitRegisteredData,
    "visit.confirmation": VisitConfirmationData,
    "visit.checked_out": VisitCheckedOutData,
    "visit.checkout_undone": VisitCheckoutUndoneData,
    "door.event": DoorEventData,
    "incident.opened": IncidentOpenedData,
    "incident.entry": IncidentEntryData,
    "incident.status": IncidentStatusData,
    "shift.note": ShiftNoteData,
    "pii.purged": PiiPurgedData,
    "preapproval.created": PreapprovalCreatedData,
    "watchlist.applied": WatchlistAppliedData,
    "settings.applied": SettingsAppliedData,
    "directory.applied": DirectoryAppliedData,
    "roster.applied": RosterAppliedData,
    "incident.assigned": IncidentAssignedData,
    "incident.severity": IncidentSeverityData,
    "command.rejected": CommandRejectedData,
    "shift.acknowledged": ShiftAcknowledgedData,
    "patrols.applied": PatrolsAppliedData,
    "patrol.scan": PatrolScanData,
    "patrol.missed": PatrolMissedData,
    "photo.attached": PhotoAttachedData,
    "photo.purged": PhotoPurgedData,
}
