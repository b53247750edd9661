"""What the posts sent, as each user may see it: devices, visits, incidents (and supervisors'
entries), the logbook and its search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from schemas import models as m
from schemas.ids import utc_now

from ..actions import (
    add_supervisor_entry,
    audit_read,
    scope,
    visible_incident,
)
from .deps import CurrentUser, StoreDep

router = APIRouter()


class Device(BaseModel):
    site: str
    device: str
    online: bool
    last_seen: str | None
    acked_seq: int
    backlog: int
    clock_offset_s: float | None
    tampered: bool
    tampered_reason: str | None
    version: str | None = Field(description="the Guardpost version the post last reported")
    disk_free_mb: int | None = Field(description="the post's free disk (MB) it last reported")


class DeviceList(BaseModel):
    devices: list[Device]


class HubLogbookEntry(m.LogbookEntry):
    device: str


class HubLogbook(BaseModel):
    entries: list[HubLogbookEntry]


@router.get("/devices", tags=["devices"])
def list_devices(user: CurrentUser, store: StoreDep) -> DeviceList:
    """Every post the user may see: online, last seen, how far the hub has it, clock offset,
    whether a forged batch was refused (`tampered`), its version and free disk."""
    return DeviceList(devices=[Device.model_validate(d) for d in store.list_devices(user.sites)])


@router.get("/visits", tags=["visits"])
def list_visits(
    user: CurrentUser,
    store: StoreDep,
    site: str | None = None,
    on_site: bool | None = None,
    date: Annotated[m.Day | None, Query(description="the site's local date")] = None,
) -> m.VisitList:
    visits = store.list_visits(scope(user, site), on_site=on_site, day=date)
    audit_read(store, user, "api visits", site=site, date=date, on_site=on_site)
    return m.VisitList(visits=[m.Visit.model_validate(v) for v in visits])


@router.get("/incidents", tags=["incidents"])
def list_incidents(
    user: CurrentUser,
    store: StoreDep,
    site: str | None = None,
    status: m.IncidentStatus | None = None,
    severity: m.Severity | None = None,
    overdue: bool | None = None,
    assignee: Annotated[
        str | None, Query(max_length=64, description="a hub username, or `me` for one's own")
    ] = None,
) -> m.IncidentList:
    incidents = store.list_incidents(
        scope(user, site),
        status=status,
        severity=severity,
        overdue=overdue,
        assignee=user.username if assignee == "me" else assignee,
    )
    audit_read(
        store, user, "api incidents", site=site, status=status, severity=severity, overdue=overdue
    )
    return m.IncidentList(incidents=[m.Incident.model_validate(i) for i in incidents])


@router.get("/incidents/{incident_id}", tags=["incidents"], responses={404: {}})
def get_incident(incident_id: str, user: CurrentUser, store: StoreDep) -> m.HubIncident:
    """One incident with its entries, its history (status, assignee and grade changes as its
    post recorded them), the commands sent to its post with their state, and its evidence
    photos (`GET /photos/{id}` once their bytes have arrived)."""
    incident = visible_incident(store, user, incident_id)
    audit_read(store, user, "api incident", id=incident_id)
    fields = m.IncidentPhoto.model_fields
    photos = [
        {k: v for k, v in p.items() if k in fields} for p in store.incident_photos(incident_id)
    ]
    return m.HubIncident.model_validate({**incident, "photos": photos})


@router.post(
    "/incidents/{incident_id}/entries",
    status_code=201,
    tags=["incidents"],
    responses={403: {}, 404: {}},
)
def add_entry(
    incident_id: str, body: m.EntryIn, request: Request, user: CurrentUser, store: StoreDep
) -> m.IncidentEntry:
    """A supervisor's or manager's entry: shown here at once, and delivered on the site's
    `down` topic to the post that holds the incident, whenever it is connected."""
    incident = visible_incident(store, user, incident_id)
    entry = add_supervisor_entry(request, incident, user, body.kind.value, body.text)
    return m.IncidentEntry.model_validate(entry)


@router.get("/logbook", tags=["logbook"])
def get_logbook(
    user: CurrentUser,
    store: StoreDep,
    site: Annotated[str, Query()],
    date: Annotated[m.Day | None, Query(description="the site's local date; default today")] = None,
) -> HubLogbook:
    """The day's events of every post of a site, each with its `device`."""
    scope(user, site)
    day = date or utc_now().astimezone(store.zone).date()
    audit_read(store, user, "api logbook", site=site, date=day)
    return HubLogbook(entries=[HubLogbookEntry.model_validate(e) for e in store.logbook(site, day)])


class SearchLine(BaseModel):
    site: str
    device: str
    seq: int
    at: str
    type: str
    summary: str


class SearchResult(BaseModel):
    entries: list[SearchLine]


@router.get("/search", tags=["logbook"])
def search(
    user: CurrentUser,
    store: StoreDep,
    q: Annotated[str, Query(min_length=1, max_length=100)],
    site: str | None = None,
    date_from: m.Day | None = None,
    date_to: m.Day | None = None,
) -> SearchResult:
    """Logbook lines of the sites the user may see that contain `q` (Chinese too), newest
    first, at most 200; `date_from`/`date_to` are the site time zone's dates, inclusive.
    Recorded in the audit log: logbook lines name visitors."""
    sites = scope(user, site)
    since = store.day_bounds(date_from)[0] if date_from else None
    until = store.day_bounds(date_to)[1] if date_to else None
    audit_read(store, user, "api search", q=q, site=site)
    return SearchResult(
        entries=[SearchLine.model_validate(e) for e in store.search(sites, q, since, until)]
    )
