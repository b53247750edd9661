"""The hub's HTTP API (`/api/v1`, CONTRACT section 3). A user sees only the sites their role
allows: another site's record is 404, not 403; an auditor may read but not write (403)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from edge import errors
from edge.api import COMMON_ERRORS
from schemas import models as m
from schemas.ids import format_time, new_id, utc_now
from schemas.privacy import id_hmac, mask_id

from .auth import HubAuth, User
from .escalation import shown_url
from .store import Store


class HubLoginIn(m.Body):
    username: m.Text(64)  # type: ignore[valid-type]
    password: m.Text(256)  # type: ignore[valid-type]


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


async def get_store(request: Request) -> Store:
    return request.app.state.store  # type: ignore[no-any-return]


async def get_auth(request: Request) -> HubAuth:
    return request.app.state.auth  # type: ignore[no-any-return]


async def current_user(request: Request) -> User:
    return request.state.actor  # type: ignore[no-any-return]


StoreDep = Annotated[Store, Depends(get_store)]
AuthDep = Annotated[HubAuth, Depends(get_auth)]
CurrentUser = Annotated[User, Depends(current_user)]

router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS)


def audit_read(store: Store, user: User, action: str, **question: object) -> None:
    """Every read of personal data, in the API and on the pages alike, goes into the audit
    log once it has been answered: who, what (`action`) and the question (`site=... q=...`;
    whatever looks like an ID number is masked by the store)."""
    store.audit(user.username, action, " ".join(
        f"{name}={'*' if value is None else value}" for name, value in question.items()))


def _scope(user: User, site: str | None) -> list[str] | None:
    """The sites a query may cover; a site the user may not see is 404."""
    if site is None:
        return user.sites
    if not user.may_see(site):
        raise errors.NotFound(f"no site {site}", loc=("query", "site"))
    return [site]


@router.post("/auth/login", tags=["auth"], responses={401: {}, 429: {}})
def login(body: HubLoginIn, auth: AuthDep) -> HubLoginOut:
    return HubLoginOut.model_validate(auth.login(body.username, body.password))


@router.post("/auth/logout", tags=["auth"], status_code=204)
def logout(request: Request, user: CurrentUser, auth: AuthDep) -> None:
    auth.logout(request.state.token)


@router.post("/users/{username}/revoke-sessions", tags=["auth"], responses={403: {}, 404: {}})
def revoke_sessions(username: str, user: CurrentUser, store: StoreDep,
                    auth: AuthDep) -> dict[str, int]:
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
    user: CurrentUser, store: StoreDep, site: str | None = None, on_site: bool | None = None,
    date: Annotated[m.Day | None, Query(description="the site's local date")] = None,
) -> m.VisitList:
    visits = store.list_visits(_scope(user, site), on_site=on_site, day=date)
    audit_read(store, user, "api visits", site=site, date=date, on_site=on_site)
    return m.VisitList(visits=[m.Visit.model_validate(v) for v in visits])


@router.get("/incidents", tags=["incidents"])
def list_incidents(
    user: CurrentUser, store: StoreDep, site: str | None = None,
    status: m.IncidentStatus | None = None, severity: m.Severity | None = None,
    overdue: bool | None = None,
) -> m.IncidentList:
    incidents = store.list_incidents(_scope(user, site), status=status, severity=severity,
                                     overdue=overdue)
    audit_read(store, user, "api incidents", site=site, status=status, severity=severity,
               overdue=overdue)
    return m.IncidentList(incidents=[m.Incident.model_validate(i) for i in incidents])


def visible_incident(store: Store, user: User, incident_id: str) -> dict[str, Any]:
    incident = store.get_incident(incident_id)
    if incident is None or not user.may_see(incident["site"]):
        raise errors.NotFound(f"no incident {incident_id}", loc=("path", "id"))
    return incident


@router.get("/incidents/{incident_id}", tags=["incidents"], responses={404: {}})
def get_incident(incident_id: str, user: CurrentUser, store: StoreDep) -> m.Incident:
    incident = visible_incident(store, user, incident_id)
    audit_read(store, user, "api incident", id=incident_id)
    return m.Incident.model_validate(incident)


@router.post("/incidents/{incident_id}/entries", status_code=201, tags=["incidents"],
             responses={403: {}, 404: {}})
def add_entry(incident_id: str, body: m.EntryIn, request: Request, user: CurrentUser,
              store: StoreDep) -> m.IncidentEntry:
    """A supervisor's or manager's entry: shown here at once, and delivered on the site's
    `down` topic to the post that holds the incident, whenever it is connected."""
    incident = visible_incident(store, user, incident_id)
    entry = add_supervisor_entry(request, incident, user, body.kind.value, body.text)
    return m.IncidentEntry.model_validate(entry)


def new_hub_entry(incident: dict[str, Any], kind: str, text: str,
                  author: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """An entry made at the hub, and the down message that takes it to the incident's post."""
    entry = {"id": new_id(), "incident_id": incident["id"], "kind": kind, "text": text,
             "at": format_time(utc_now()), "guard": None, "author": author}
    payload = {"type": "incident.entry", "id": entry["id"], "incident_id": incident["id"],
               "site": incident["site"], "device": incident["device"], "kind": kind,
               "text": text, "by": author, "at": entry["at"]}
    return entry, payload


def add_supervisor_entry(request: Request, incident: dict[str, Any], user: User, kind: str,
                         text: str) -> dict[str, Any]:
    """Store a supervisor's or manager's entry and send it down to the incident's post (the
    API and the dashboard's form both come here); 403 for an auditor."""
    if not user.may_write:
        raise errors.Forbidden("an auditor may read but not write")
    store: Store = request.app.state.store
    entry, payload = new_hub_entry(incident, kind, text, user.ref)
    store.add_hub_entry(incident, entry, payload)
    ingest = request.app.state.ingest
    if ingest is not None:
        ingest.send_down(incident["site"], incident["device"])
    return entry


@router.get("/logbook", tags=["logbook"])
def get_logbook(
    user: CurrentUser, store: StoreDep, site: Annotated[str, Query()],
    date: Annotated[m.Day | None,
                    Query(description="the site's local date; default today")] = None,
) -> HubLogbook:
    """The day's events of every post of a site, each with its `device`."""
    _scope(user, site)
    day = date or utc_now().astimezone(store.zone).date()
    audit_read(store, user, "api logbook", site=site, date=day)
    return HubLogbook(entries=[HubLogbookEntry.model_validate(e)
                               for e in store.logbook(site, day)])


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
    user: CurrentUser, store: StoreDep, q: Annotated[str, Query(min_length=1, max_length=100)],
    site: str | None = None, date_from: m.Day | None = None, date_to: m.Day | None = None,
) -> SearchResult:
    """Logbook lines of the sites the user may see that contain `q` (Chinese too), newest
    first, at most 200; `date_from`/`date_to` are the site time zone's dates, inclusive.
    Recorded in the audit log: logbook lines name visitors."""
    sites = _scope(user, site)
    since = store.day_bounds(date_from)[0] if date_from else None
    until = store.day_bounds(date_to)[1] if date_to else None
    audit_read(store, user, "api search", q=q, site=site)
    return SearchResult(entries=[SearchLine.model_validate(e)
                                 for e in store.search(sites, q, since, until)])


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


# ---- the watch list ---------------------------------------------------------------------------


def check_watchlist_access(user: User) -> None:
    """The watch list names people and says why they are watched: only a manager sees or
    changes it, on the pages and in the API alike (docs/hub.md)."""
    if user.role != "manager":
        raise errors.Forbidden("only a manager may see or change the watch list")


def read_watchlist(store: Store, user: User) -> dict[str, Any]:
    """The watch list for a manager (API and page), each read in the audit log."""
    check_watchlist_access(user)
    watchlist = store.watchlist()
    audit_read(store, user, "view watch list", version=watchlist["version"])
    return watchlist


@router.get("/watchlist", tags=["watch list"], responses={403: {}})
def get_watchlist(user: CurrentUser, store: StoreDep) -> m.Watchlist:
    """Manager only: the company's watch list as the posts receive it (ID numbers only as
    HMAC and mask); each read is in the audit log."""
    return m.Watchlist.model_validate(read_watchlist(store, user))


@router.post("/watchlist", status_code=201, tags=["watch list"], responses={403: {}, 422: {}})
def add_watch_entry(body: m.WatchlistEntryIn, request: Request, user: CurrentUser,
                    store: StoreDep) -> m.WatchlistEntry:
    """Manager only: watch for a person by ID number and/or name. The number is reduced to
    the company's keyed HMAC and a mask here and never stored; every post gets the new list on
    its site's `down` topic and matches registrations against it, offline too."""
    return m.WatchlistEntry.model_validate(watch_for(request, store, user, body))


def watch_for(request: Request, store: Store, user: User,
              body: m.WatchlistEntryIn) -> dict[str, Any]:
    """Add a watch-list entry (API and page): the ID number becomes HMAC and mask here."""
    check_watchlist_access(user)
    id_number = (body.id_number or "").strip()
    if not id_number and not body.name:
        raise errors.InvalidValue("give an id_number or a name", loc=("body", "id_number"))
    entry = store.add_watch_entry({
        "id": new_id(), "id_hmac": id_hmac(store.id_key, id_number) if id_number else None,
        "id_number_masked": mask_id(id_number) if id_number else None, "name": body.name,
        "reason": body.reason, "severity": body.severity.value,
        "created_at": format_time(utc_now()), "by": user.ref})
    _send_down(request)
    return entry


@router.delete("/watchlist/{entry_id}", status_code=204, tags=["watch list"],
               responses={403: {}, 404: {}})
def remove_watch_entry(entry_id: str, request: Request, user: CurrentUser,
                       store: StoreDep) -> None:
    """Manager only: stop watching for someone; the posts get the shorter list."""
    unwatch(request, store, user, entry_id)


def unwatch(request: Request, store: Store, user: User, entry_id: str) -> None:
    check_watchlist_access(user)
    if not store.remove_watch_entry(entry_id):
        raise errors.NotFound(f"no watch-list entry {entry_id}", loc=("path", "entry_id"))
    _send_down(request)


def _send_down(request: Request) -> None:
    ingest = request.app.state.ingest
    if ingest is not None:
        ingest.send_down()


# ---- escalation rules -------------------------------------------------------------------------


class RuleIn(m.Body):
    severity: m.Severity
    url: m.Text(2000)  # type: ignore[valid-type]
    site: m.OptionalText(64) | None = None  # type: ignore[valid-type]
    events: list[Literal["opened", "overdue"]] = ["opened", "overdue"]


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


def _manager(user: User) -> None:
    if user.role != "manager":
        raise errors.Forbidden("only a manager may change who is notified")


@router.get("/notify-rules", tags=["escalation"])
def list_rules(user: CurrentUser, store: StoreDep) -> RuleList:
    """Who is told when an incident of a severity opens or passes its deadline unresolved
    (URLs with their secrets masked)."""
    _manager(user)
    return RuleList(rules=[RuleOut.model_validate(r) for r in store.rules()])


@router.post("/notify-rules", status_code=201, tags=["escalation"], responses={403: {}, 422: {}})
def add_rule(body: RuleIn, user: CurrentUser, store: StoreDep) -> RuleOut:
    """Manager only: notify an Apprise URL (`mailto://`, `tgram://`, ...; see Apprise's list)
    when an incident of `severity` (at `site`, or any) opens and/or becomes overdue. Each
    incident is notified once per rule and event, and each notification is an `escalation`
    entry on the incident's timeline."""
    return RuleOut.model_validate(notify_rule(store, user, body))


def notify_rule(store: Store, user: User, body: RuleIn) -> dict[str, Any]:
    """Add a notification rule (API and page); the URL is checked with Apprise first."""
    _manager(user)
    shown = shown_url(body.url)
    if shown is None:
        raise errors.InvalidValue("not a notification URL Apprise knows", loc=("body", "url"))
    if not body.events:
        raise errors.InvalidValue("name opened, overdue or both", loc=("body", "events"))
    return store.add_rule({
        "id": new_id(), "severity": body.severity.value, "site": body.site or None,
        "events": sorted(set(body.events)), "url": body.url, "shown_url": shown,
        "created_at": format_time(utc_now()), "by": user.ref})


@router.delete("/notify-rules/{rule_id}", status_code=204, tags=["escalation"],
               responses={403: {}, 404: {}})
def remove_rule(rule_id: str, user: CurrentUser, store: StoreDep) -> None:
    _manager(user)
    if not store.remove_rule(rule_id):
        raise errors.NotFound(f"no rule {rule_id}", loc=("path", "rule_id"))
