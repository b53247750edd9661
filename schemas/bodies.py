"""Request bodies: what the edge's and the hub's APIs accept (CONTRACT.md sections 2 and 3).

A body ignores fields it does not know; each text field follows `TextRules`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from .fields import (
    Category,
    Channel,
    Decision,
    DoorKind,
    EntryKind,
    IdNumber,
    IncidentStatus,
    Language,
    Moment,
    Role,
    Severity,
    SiteKind,
    TextRules,
    known_zone,
)
from .ids import utc_now

PIN_RULE = r"^[0-9]{4,8}$"  # a guard's PIN: 4 to 8 digits, at the post and at the hub


def later_than_now(moment: datetime) -> datetime:
    """A promise for the future (a reply to a complainant): a time already past is refused."""
    if moment <= utc_now():
        raise ValueError("must be later than now")
    return moment


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class LoginIn(Body):
    badge: Annotated[str, TextRules(64)]
    pin: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class VisitIn(Body):
    visitor_name: Annotated[str, TextRules(200)]
    unit: Annotated[str, TextRules(32)]
    category: Category
    id_number: Annotated[
        IdNumber,
        Field(description="Government ID number. Never stored or returned: masked + keyed HMAC."),
    ] = None
    phone: Annotated[str, TextRules(40, may_be_empty=True)] | None = None
    company: Annotated[str, TextRules(200, may_be_empty=True)] | None = None
    purpose: Annotated[str, TextRules(500, multiline=True, may_be_empty=True)] | None = None
    party_size: Annotated[int, Field(ge=1, le=50, strict=True)] = 1
    vehicle_plate: Annotated[str, TextRules(20, may_be_empty=True)] | None = None
    notes: Annotated[str, TextRules(2000, multiline=True, may_be_empty=True)] | None = None
    preapproval_code: Annotated[
        str | None,
        TextRules(16, may_be_empty=True),
        Field(
            description="A resident's pre-approval code for this unit: the visit is approved "
            "at once, without ringing the flat. 422 if unknown, expired, used or "
            "for another unit."
        ),
    ] = None


class OverrideIn(Body):
    reason: Annotated[str, TextRules(500, multiline=True)]


class DoorEventIn(Body):
    door: Annotated[str, TextRules(64)]
    kind: DoorKind
    reason: Annotated[str, TextRules(500, multiline=True, may_be_empty=True)] | None = None
    visit_id: Annotated[str, TextRules(64, may_be_empty=True)] | None = None
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
        TextRules(64),
        Field(description="complaint, emergency, dispute, equipment, security, ... (free)"),
    ]
    severity: Severity
    title: Annotated[str, TextRules(200)]
    description: Annotated[str, TextRules(5000, multiline=True, may_be_empty=True)] | None = None
    location: Annotated[str, TextRules(200, may_be_empty=True)] | None = None
    visit_id: Annotated[str, TextRules(64, may_be_empty=True)] | None = None
    channel: Channel | None = None
    complainant_name: Annotated[str, TextRules(200, may_be_empty=True)] | None = Field(
        default=None, description="who complained (personal data: purged with retention)"
    )
    complainant_unit: Annotated[str, TextRules(32, may_be_empty=True)] | None = Field(
        default=None, description="the complainant's unit (personal data)"
    )
    complainant_phone: Annotated[str, TextRules(40, may_be_empty=True)] | None = Field(
        default=None, description="how to reach the complainant (personal data)"
    )
    reply_by: Annotated[Moment, AfterValidator(later_than_now)] | None = Field(
        default=None, description="the time promised to the complainant for a reply; after now"
    )


class EntryIn(Body):
    kind: EntryKind
    text: Annotated[str, TextRules(5000, multiline=True)]


class StatusIn(Body):
    status: IncidentStatus


class ShiftNoteIn(Body):
    text: Annotated[str, TextRules(5000, multiline=True)]


class AnswerIn(Body):
    request_id: Annotated[str, TextRules(64)]
    decision: Decision


class PreapprovalIn(Body):
    unit: Annotated[str, TextRules(32)]
    valid_until: Moment = Field(description="the code stops working at this time")
    valid_from: Moment | None = Field(default=None, description="default: now")
    visitor_name: Annotated[str, TextRules(200, may_be_empty=True)] | None = Field(
        default=None, description="who the resident expects (shown to the guard)"
    )
    code: Annotated[
        str | None,
        StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{4,12}$"),
        Field(description="4-12 digits chosen by the resident; default: 6 random digits"),
    ] = None


class WatchlistEntryIn(Body):
    id_number: Annotated[
        IdNumber, Field(description="Kept only as the company's keyed HMAC, never in clear.")
    ] = None
    name: Annotated[str, TextRules(200, may_be_empty=True)] | None = None
    reason: Annotated[str, TextRules(500, multiline=True)]
    severity: Severity = Severity.severe


class SiteIn(Body):
    """`PUT /sites/{site}` at the hub: the site's record (CONTRACT section 8)."""

    name: Annotated[str, TextRules(200)]
    timezone: Annotated[str, TextRules(64), AfterValidator(known_zone)] = "Asia/Hong_Kong"
    kind: SiteKind = SiteKind.residential


class DeadlinesIn(Body):
    """Hours to resolve an incident of each grade; any subset."""

    minor: float | None = Field(default=None, gt=0, le=8760)
    medium: float | None = Field(default=None, gt=0, le=8760)
    severe: float | None = Field(default=None, gt=0, le=8760)


class SiteSettingsIn(Body):
    """`PUT /sites/{site}/settings` at the hub, and the `settings` of the down message that
    takes them to the posts: any subset; what is left out keeps its value."""

    deadlines_h: DeadlinesIn | None = None
    retention_days: int | None = Field(default=None, ge=1, le=3650)
    held_open_s: float | None = Field(default=None, ge=0, le=86400)
    idle_minutes: float | None = Field(default=None, gt=0, le=1440)
    default_lang: Language | None = None
    patrol_missed_severity: Severity | None = Field(
        default=None, description="the grade of the incident a missed patrol run opens"
    )

    def given(self) -> dict[str, Any]:
        """The values set, as JSON (deadlines only the grades given)."""
        return self.model_dump(mode="json", exclude_none=True)


class GuardIn(Body):
    """`POST /guards` at the hub: a guard of one or more sites (CONTRACT section 8)."""

    badge: Annotated[str, TextRules(64)]
    name: Annotated[str, TextRules(200)]
    pin: str = Field(pattern=PIN_RULE, description="4 to 8 digits; kept only as its hash")
    role: Role = Role.guard
    sites: list[Annotated[str, TextRules(64)]] = Field(min_length=1, max_length=1000)


class GuardDisableIn(Body):
    """`POST /guards/{badge}/disable` at the hub."""

    reason: Annotated[str, TextRules(500, may_be_empty=True)] | None = None


class StatusCommandIn(Body):
    """`POST /incidents/{id}/status` at the hub: the post moves the incident along."""

    status: IncidentStatus
    reason: Annotated[str, TextRules(2000, multiline=True, may_be_empty=True)] | None = None


class AssignIn(Body):
    """`POST /incidents/{id}/assign` at the hub: a hub user who may see the incident's site."""

    assignee: Annotated[str, TextRules(64)]


class SeverityIn(Body):
    """`POST /incidents/{id}/severity` at the hub: another grade; `due_at` follows it."""

    severity: Severity
    reason: Annotated[str, TextRules(2000, multiline=True)]
