"""The hub's HTTP API (`/api/v1`, CONTRACT section 3). A user sees only the sites their role
allows: another site's record is 404, not 403; an auditor may read but not write (403)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from schemas import models as m
from schemas.ids import utc_now
from service import errors
from service.http import COMMON_ERRORS, actor_dependency, state_dependency

from .actions import (
    HubLoginIn,
    RuleIn,
    add_supervisor_entry,
    audit_read,
    check_rules_access,
    check_site_access,
    notify_rule,
    put_settings,
    put_site,
    put_units,
    read_watchlist,
    scope,
    unwatch,
    visible_incident,
    watch_for,
)
from .auth import HubAuth, User
from .store import Store


class HubUserOut(BaseModel):
    username: str
    role: str
    sites: list[str] | None


class HubLoginOut(BaseModel):
    token: str
    expires_at: str
    user: HubUserOut


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


class DeviceList(BaseModel):
    devices: list[Device]


class HubLogbookEntry(m.LogbookEntry):
    device: str


class HubLogbook(BaseModel):
    entries: list[HubLogbookEntry]


StoreDep = Annotated[Store, Depends(state_dependency("store", Store))]
AuthDep = Annotated[HubAuth, Depends(state_dependency("auth", HubAuth))]
CurrentUser = Annotated[User, Depends(actor_dependency(User))]

router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS)


@router.post("/auth/login", tags=["auth"], responses={401: {}, 429: {}})
def login(body: HubLoginIn, auth: AuthDep) -> HubLoginOut:
    return HubLoginOut.model_validate(auth.login(body.username, body.password))


@router.post("/auth/logout", tags=["auth"], status_code=204)
def logout(request: Request, user: CurrentUser, auth: AuthDep) -> None:
    auth.logout(request.state.token)


@router.post("/users/{username}/revoke-sessions", tags=["auth"], responses={403: {}, 404: {}})
def revoke_sessions(
    username: str, user: CurrentUser, store: StoreDep, auth: AuthDep
) -> dict[str, int]:
    """Manager only: end every session of a user at once (a lost laptop, someone who left)."""
    if user.role != "manager":
        raise errors.Forbidden("only a manager may end other users' sessions")
    if store.get_user(username) is None:
        raise errors.NotFound(f"no user {username}", loc=("path", "username"))
    return {"revoked": auth.revoke_user(username)}


@router.get("/devices", tags=["devices"])
def list_devices(user: CurrentUser, store: StoreDep) -> DeviceList:
    """Every post the user may see: online, last seen, how far the hub has it, clock offset,
    and whether a forged batch was refused (`tampered`)."""
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
) -> m.IncidentList:
    incidents = store.list_incidents(
        scope(user, site), status=status, severity=severity, overdue=overdue
    )
    audit_read(
        store, user, "api incidents", site=site, status=status, severity=severity, overdue=overdue
    )
    return m.IncidentList(incidents=[m.Incident.model_validate(i) for i in incidents])


@router.get("/incidents/{incident_id}", tags=["incidents"], responses={404: {}})
def get_incident(incident_id: str, user: CurrentUser, store: StoreDep) -> m.Incident:
    incident = visible_incident(store, user, incident_id)
    audit_read(store, user, "api incident", id=incident_id)
    return m.Incident.model_validate(incident)


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


class AuditLine(BaseModel):
    at: str
    username: str
    action: str
    target: str


class AuditLog(BaseModel):
    entries: list[AuditLine]


@router.get("/audit", tags=["audit"], responses={403: {}})
def audit_log(user: CurrentUser, store: StoreDep) -> AuditLog:
    """Manager only: who viewed or exported personal data at the hub, newest first."""
    if user.role != "manager":
        raise errors.Forbidden("only a manager may read the audit log")
    return AuditLog(entries=[AuditLine.model_validate(e) for e in store.audit_log()])


# ---- sites and their settings (CONTRACT section 8) --------------------------------------------


@router.get("/sites", tags=["sites"])
def list_sites(user: CurrentUser, store: StoreDep) -> m.SiteList:
    """The sites the user may see, each with its name, time zone, kind, the settings set at
    the hub and their version."""
    return m.SiteList(sites=[m.Site.model_validate(s) for s in store.list_sites(user.sites)])


@router.get("/sites/{site}", tags=["sites"], responses={404: {}})
def get_site(site: str, user: CurrentUser, store: StoreDep) -> m.Site:
    check_site_access(user, site, change=False)
    record = store.get_site(site)
    if record is None:
        raise errors.NotFound(f"no site {site}", loc=("path", "site"))
    return m.Site.model_validate(record)


@router.put("/sites/{site}", tags=["sites"], responses={403: {}, 404: {}, 422: {}})
def put_site_record(
    site: str, body: m.SiteIn, request: Request, user: CurrentUser, store: StoreDep
) -> m.Site:
    """Manager only: create or replace a site's record. Its posts show `name` instead of the
    slug once the next settings version (sent now) arrives."""
    return m.Site.model_validate(put_site(request, store, user, site, body))


@router.put("/sites/{site}/settings", tags=["sites"], responses={403: {}, 404: {}, 422: {}})
def put_site_settings(
    site: str, body: m.SiteSettingsIn, request: Request, user: CurrentUser, store: StoreDep
) -> m.Site:
    """Manager only: change any subset of the site's settings. The answer's `version` is
    delivered on the site's `down` topic to every post, which applies versions in order (an
    older one never overwrites a newer) and keeps them across restarts; the hub's values win
    over the post's own CLI/env values once delivered."""
    return m.Site.model_validate(put_settings(request, store, user, site, body))


class SiteUnits(BaseModel):
    version: int
    units: int


@router.put(
    "/sites/{site}/units",
    tags=["sites"],
    responses={403: {}, 404: {}, 422: {}},
    openapi_extra={
        "requestBody": {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            }
        }
    },
)
async def put_site_units(
    site: str, request: Request, user: CurrentUser, store: StoreDep
) -> SiteUnits:
    """Manager only: replace the site's directory with a `text/csv` body (header
    `unit,intercom,residents`, as `guardpost-edge import-units` reads it) or a JSON list of
    `{"unit", "intercom", "residents"}`. Every post of the site replaces its directory with
    this version (its unit suggestions follow); `units` is how many it holds. A bad line is
    422 naming the line and field."""
    raw = await request.body()
    content_type = request.headers.get("content-type", "")
    answer = await run_in_threadpool(put_units, request, store, user, site, raw, content_type)
    return SiteUnits.model_validate(answer)


# ---- the watch list ---------------------------------------------------------------------------


@router.get("/watchlist", tags=["watch list"], responses={403: {}})
def get_watchlist(user: CurrentUser, store: StoreDep) -> m.Watchlist:
    """Manager only: the company's watch list as the posts receive it (ID numbers only as
    HMAC and mask); each read is in the audit log."""
    return m.Watchlist.model_validate(read_watchlist(store, user))


@router.post("/watchlist", status_code=201, tags=["watch list"], responses={403: {}, 422: {}})
def add_watch_entry(
    body: m.WatchlistEntryIn, request: Request, user: CurrentUser, store: StoreDep
) -> m.WatchlistEntry:
    """Manager only: watch for a person by ID number and/or name. The number is reduced to
    the company's keyed HMAC and a mask here and never stored; every post gets the new list on
    its site's `down` topic and matches registrations against it, offline too."""
    return m.WatchlistEntry.model_validate(watch_for(request, store, user, body))


@router.delete(
    "/watchlist/{entry_id}", status_code=204, tags=["watch list"], responses={403: {}, 404: {}}
)
def remove_watch_entry(entry_id: str, request: Request, user: CurrentUser, store: StoreDep) -> None:
    """Manager only: stop watching for someone; the posts get the shorter list."""
    unwatch(request, store, user, entry_id)


# ---- escalation rules -------------------------------------------------------------------------


class RuleOut(BaseModel):
    id: str
    severity: str
    site: str | None
    events: list[str]
    url: str
    created_at: str
    by: str


class RuleList(BaseModel):
    rules: list[RuleOut]


@router.get("/notify-rules", tags=["escalation"])
def list_rules(user: CurrentUser, store: StoreDep) -> RuleList:
    """Who is told when an incident of a severity opens or passes its deadline unresolved
    (URLs with their secrets masked)."""
    check_rules_access(user)
    return RuleList(rules=[RuleOut.model_validate(r) for r in store.rules()])


@router.post("/notify-rules", status_code=201, tags=["escalation"], responses={403: {}, 422: {}})
def add_rule(body: RuleIn, user: CurrentUser, store: StoreDep) -> RuleOut:
    """Manager only: notify an Apprise URL (`mailto://`, `tgram://`, ...; see Apprise's list)
    when an incident of `severity` (at `site`, or any) opens and/or becomes overdue. Each
    incident is notified once per rule and event, and each notification is an `escalation`
    entry on the incident's timeline."""
    return RuleOut.model_validate(notify_rule(store, user, body))


@router.delete(
    "/notify-rules/{rule_id}", status_code=204, tags=["escalation"], responses={403: {}, 404: {}}
)
def remove_rule(rule_id: str, user: CurrentUser, store: StoreDep) -> None:
    check_rules_access(user)
    if not store.remove_rule(rule_id):
        raise errors.NotFound(f"no rule {rule_id}", loc=("path", "rule_id"))
