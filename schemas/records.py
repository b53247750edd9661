"""Records: what the edge's and the hub's APIs answer (CONTRACT.md sections 2 and 3).

A record refuses fields it does not know, so an answer holds exactly what is written here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .fields import (
    Category,
    Channel,
    ConfirmationStatus,
    DoorKind,
    EntryKind,
    IncidentStatus,
    Role,
    Severity,
)


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


class IncidentChange(Record):
    """One line of an incident's history: its status, assignee or grade changed, or the post
    refused a command from the hub (`change` is `rejected`, `value` the command's action)."""

    at: str
    change: Literal["status", "assignee", "severity", "rejected"]
    value: str
    previous: str | None
    reason: str | None
    author: str = Field(description="who: guard:BADGE or hub:USERNAME")
    command_id: str | None = Field(description="the hub's command it carried out or refused")


class CommandState(Record):
    """What became of a command sent from the hub (CONTRACT section 8)."""

    command_id: str
    incident_id: str
    action: Literal["status", "assign", "severity"]
    value: str = Field(description="the status, assignee or grade asked for")
    reason: str | None = Field(description="the reason given with it, or why it was rejected")
    author: str = Field(description="hub:USERNAME")
    created_at: str
    state: Literal["pending", "applied", "rejected"]
    settled_at: str | None


class IncidentPhoto(Record):
    """An evidence photo of an incident; its bytes are `GET /photos/{id}` until `purged_at`."""

    id: str
    sha256: str
    content_type: str
    size: int
    attached_at: str
    purged_at: str | None = Field(description="when its file was deleted past retention")


class Incident(Record):
    id: str
    site: str
    device: str
    category: str
    severity: Severity
    title: str
    title_code: str | None = Field(
        default=None,
        description="watch_list: pages word the title from visitor_name and the unit (title); "
        "panic: a guard's panic button (the title names the guard, location the last checkpoint)",
    )
    description: str | None = Field(description="null once purged after retention")
    location: str | None
    visit_id: str | None
    channel: Channel | None
    complainant_name: str | None = Field(default=None, description="null once purged")
    complainant_unit: str | None = Field(default=None, description="null once purged")
    complainant_phone: str | None = Field(default=None, description="null once purged")
    visitor_name: str | None = Field(
        default=None, description="a watch-listed visitor's name; null once purged"
    )
    reply_by: str | None = Field(default=None, description="the reply promised to a complainant")
    status: IncidentStatus
    opened_at: str
    due_at: str
    updated_at: str
    overdue: bool = Field(description="not yet resolved and past due_at")
    guard: str | None
    assignee: str | None = Field(default=None, description="the hub user it is assigned to")
    entries: list[IncidentEntry] | None = None
    history: list[IncidentChange] | None = Field(
        default=None, description="status, assignee and grade changes, oldest first"
    )
    photos: list[IncidentPhoto] | None = Field(
        default=None, description="evidence photos, oldest first (`GET /photos/{id}`)"
    )


class HubIncident(Incident):
    """One incident at the hub: also the commands sent to its post and what became of them."""

    commands: list[CommandState] | None = Field(
        default=None, description="the commands sent to the post from the hub, oldest first"
    )


class IncidentList(Record):
    incidents: list[Incident]


class ShiftNote(Record):
    id: str
    site: str
    device: str
    text: str
    at: str
    guard: str | None


class HandoverVisit(Record):
    """A visitor who was on site at the handover (the name as the visit holds it now: null
    once purged)."""

    id: str
    visitor_name: str | None
    unit: str
    category: str
    checked_in_at: str
    checked_out_at: str | None = Field(description="set once the visitor has left since")
    is_held: bool = Field(description="on the watch list, or held as a suspicious visitor")


class HandoverIncident(Record):
    """An incident that was not closed at the handover; `status` is its status now."""

    id: str
    title: str
    title_code: str | None = Field(default=None, description="as the incident's")
    visitor_name: str | None = Field(
        default=None, description="a watch-listed visitor's name; null once purged"
    )
    category: str
    severity: str
    status: str
    due_at: str
    was_overdue: bool = Field(description="past its deadline at the handover")


class HandoverAcknowledgement(Record):
    guard: str = Field(description="the badge of the guard who acknowledged it")
    name: str | None = Field(description="that guard's name, if the post knows it")
    at: str


class Handover(Record):
    """The last shift handover: the outgoing guard's note, what was open then, and whether the
    incoming guard has acknowledged it."""

    id: str = Field(description="the shift note's id (the acknowledgement's record_id)")
    site: str
    device: str
    text: str
    at: str
    guard: str | None = Field(description="the badge of the guard who handed over")
    name: str | None = Field(description="that guard's name, if the post knows it")
    on_site: list[HandoverVisit]
    incidents: list[HandoverIncident]
    acknowledged: HandoverAcknowledgement | None


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


class PostHealth(Record):
    """`GET /api/v1/health` on a post: for a monitor, without a login; nothing personal."""

    ok: bool = Field(description="the database answers and the disk is above the reserve")
    version: str = Field(description="the Guardpost version the post runs")
    db_ok: bool = Field(description="the database answers and its writer runs")
    disk_free_mb: int = Field(description="megabytes free where the database lives")
    clock: str = Field(description="the post's clock now (compare it with yours)")
    broker_connected: bool = Field(description="connected to the hub's broker now")
    last_ack_at: str | None = Field(description="when the hub last acknowledged events")


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


class Deadlines(Record):
    minor: float
    medium: float
    severe: float


class SettingsVersions(Record):
    settings: int = Field(description="the hub's settings version applied here; 0 for none")
    roster: int
    directory: int
    patrols: int = Field(description="the version of the checkpoints and rounds applied here")


class PostSettings(Record):
    """`GET /settings` at a post: what it uses now (the hub's values once delivered, else the
    post's own CLI/env values) and the versions it has applied."""

    site: str
    name: str
    deadlines_h: Deadlines
    retention_days: int
    held_open_s: float
    idle_minutes: float
    default_lang: str
    patrol_missed_severity: str = Field(description="the grade of a missed patrol run's incident")
    versions: SettingsVersions


class Site(Record):
    """A site at the hub: its record and the settings the hub sends its posts."""

    site: str
    name: str
    timezone: str | None
    kind: str | None
    settings: dict[str, Any] = Field(description="the values set at the hub (a subset)")
    version: int = Field(description="the settings version the posts receive; 0 for none")


class SiteList(Record):
    sites: list[Site]


class Guard(Record):
    """A guard at the hub, as `GET /guards` shows them: never their PIN or its hash."""

    badge: str
    name: str
    role: str
    sites: list[str]
    disabled: bool


class GuardList(Record):
    guards: list[Guard]


class RosterGuard(Record):
    """One guard in the hub's `roster` down message for a site: the PIN only as its argon2
    hash."""

    badge: str
    name: str
    role: str
    pin_hash: str
    disabled: bool
