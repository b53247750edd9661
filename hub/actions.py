"""What a user may do at the hub, shared by the API (`hub/api/`) and the dashboard
(`hub/pages/`): the access rules (the sites a user may see, what only a manager may do), the
audit of every read of personal data, and the actions both run (a supervisor's entry on an
incident, the watch list, notification rules, the fleet's sites, settings, directories and
guards) with the bodies they take; every change to the fleet goes into the audit log."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import Request
from pydantic import ValidationError

from schemas import models as m
from schemas.directory import UnitIn, UnitsCsvError, parse_units_csv
from schemas.ids import format_time, new_id, utc_now
from schemas.privacy import id_hmac, mask_id
from schemas.topics import NAME_RULE, is_safe_name
from service import errors
from service.passwords import hash_secret

from .auth import User
from .escalation import shown_url
from .store import Store
from .store.outbox import new_hub_entry


class HubLoginIn(m.Body):
    username: Annotated[str, m.TextRules(64)]
    password: Annotated[str, m.TextRules(256)]


class RuleIn(m.Body):
    severity: m.Severity
    url: Annotated[str, m.TextRules(2000)]
    site: Annotated[str, m.TextRules(64, may_be_empty=True)] | None = None
    events: list[Literal["opened", "overdue"]] = ["opened", "overdue"]


def audit_read(store: Store, user: User, action: str, **question: object) -> None:
    """Every read of personal data, in the API and on the pages alike, goes into the audit
    log once it has been answered: who, what (`action`) and the question (`site=... q=...`;
    whatever looks like an ID number is masked by the store)."""
    store.audit(
        user.username,
        action,
        " ".join(f"{name}={'*' if value is None else value}" for name, value in question.items()),
    )


def scope(user: User, site: str | None) -> list[str] | None:
    """The sites a query may cover; a site the user may not see is 404."""
    if site is None:
        return user.sites
    if not user.may_see(site):
        raise errors.NotFound(f"no site {site}", loc=("query", "site"))
    return [site]


def visible_incident(store: Store, user: User, incident_id: str) -> dict[str, Any]:
    """The incident, if the user may see its site; 404 otherwise (not 403), as for a site."""
    incident = store.get_incident(incident_id)
    if incident is None or not user.may_see(incident["site"]):
        raise errors.NotFound(f"no incident {incident_id}", loc=("path", "id"))
    return incident


def visible_visit(store: Store, user: User, visit_id: str) -> dict[str, Any]:
    """The visit, if the user may see its site; 404 otherwise, as for an incident."""
    visit = store.get_visit(visit_id)
    if visit is None or not user.may_see(visit["site"]):
        raise errors.NotFound(f"no visit {visit_id}", loc=("path", "id"))
    return visit


def add_supervisor_entry(
    request: Request, incident: dict[str, Any], user: User, kind: str, text: str
) -> dict[str, Any]:
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


def watch_for(
    request: Request, store: Store, user: User, body: m.WatchlistEntryIn
) -> dict[str, Any]:
    """Add a watch-list entry (API and page): the ID number becomes HMAC and mask here."""
    check_watchlist_access(user)
    id_number = (body.id_number or "").strip()
    if not id_number and not body.name:
        raise errors.InvalidValue("give an id_number or a name", loc=("body", "id_number"))
    entry = store.add_watch_entry(
        {
            "id": new_id(),
            "id_hmac": id_hmac(store.id_key, id_number) if id_number else None,
            "id_number_masked": mask_id(id_number) if id_number else None,
            "name": body.name,
            "reason": body.reason,
            "severity": body.severity.value,
            "created_at": format_time(utc_now()),
            "by": user.ref,
        }
    )
    send_down(request)
    return entry


def unwatch(request: Request, store: Store, user: User, entry_id: str) -> None:
    check_watchlist_access(user)
    if not store.remove_watch_entry(entry_id):
        raise errors.NotFound(f"no watch-list entry {entry_id}", loc=("path", "entry_id"))
    send_down(request)


def send_down(request: Request) -> None:
    """Wake the ingest's sender: the down messages just queued go to the posts now."""
    ingest = request.app.state.ingest
    if ingest is not None:
        ingest.send_down()


def check_rules_access(user: User) -> None:
    """Only a manager sees or changes who is notified (API and page)."""
    if user.role != "manager":
        raise errors.Forbidden("only a manager may change who is notified")


def notify_rule(store: Store, user: User, body: RuleIn) -> dict[str, Any]:
    """Add a notification rule (API and page); the URL is checked with Apprise first."""
    check_rules_access(user)
    shown = shown_url(body.url)
    if shown is None:
        raise errors.InvalidValue("not a notification URL Apprise knows", loc=("body", "url"))
    if not body.events:
        raise errors.InvalidValue("name opened, overdue or both", loc=("body", "events"))
    return store.add_rule(
        {
            "id": new_id(),
            "severity": body.severity.value,
            "site": body.site or None,
            "events": sorted(set(body.events)),
            "url": body.url,
            "shown_url": shown,
            "created_at": format_time(utc_now()),
            "by": user.ref,
        }
    )


def check_site_access(user: User, site: str, *, change: bool) -> None:
    """A manager sees and changes every site; a supervisor or auditor may read their own
    sites (another site is 404), change none (403)."""
    if not user.may_see(site):
        raise errors.NotFound(f"no site {site}", loc=("path", "site"))
    if change and user.role != "manager":
        raise errors.Forbidden("only a manager may change a site or its settings")


def put_site(
    request: Request, store: Store, user: User, site: str, body: m.SiteIn
) -> dict[str, Any]:
    """Create or replace a site's record (manager); its posts get the new name."""
    check_site_access(user, site, change=True)
    if not is_safe_name(site):
        raise errors.InvalidValue(f"a site is {NAME_RULE}", loc=("path", "site"))
    record = store.put_site(site, body.model_dump(mode="json"), user.ref)
    store.audit(user.username, "change site", f"{site}: settings version {record['version']}")
    send_down(request)
    return record


def put_settings(
    request: Request, store: Store, user: User, site: str, body: m.SiteSettingsIn
) -> dict[str, Any]:
    """Change some of a site's settings (manager): a new version for every post of it."""
    check_site_access(user, site, change=True)
    if store.get_site(site) is None:
        raise errors.NotFound(f"no site {site}", loc=("path", "site"))
    given = body.given()
    if not given or given.get("deadlines_h") == {}:
        raise errors.InvalidValue("give at least one setting", loc=("body",))
    record = store.put_settings(site, given, user.ref)
    store.audit(
        user.username,
        "change site settings",
        f"{site}: {','.join(sorted(given))}, version {record['version']}",
    )
    send_down(request)
    return record


def put_units(
    request: Request, store: Store, user: User, site: str, raw: bytes, content_type: str
) -> dict[str, Any]:
    """Replace a site's directory (manager) from a units CSV or a JSON list: a new version
    for every post of the site. `units` in the answer is how many it holds."""
    check_site_access(user, site, change=True)
    if store.get_site(site) is None:
        raise errors.NotFound(f"no site {site}", loc=("path", "site"))
    units = read_units(raw, content_type)
    directory = store.put_units(site, units, user.ref)
    store.audit(
        user.username,
        "replace directory",
        f"{site}: {len(directory['units'])} units, version {directory['version']}",
    )
    send_down(request)
    return {"version": directory["version"], "units": len(directory["units"])}


def read_units(raw: bytes, content_type: str) -> list[dict[str, Any]]:
    """The units of a `text/csv` body (header unit,intercom,residents, read as `import-units`
    reads it) or of a JSON list; 422 naming the line (or index) and field of the first bad
    one. A unit given twice keeps its last line."""
    items: list[tuple[str, Any]]
    if content_type.split(";")[0].strip().lower() == "text/csv":
        try:
            rows = parse_units_csv(raw.decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise errors.InvalidValue("not UTF-8 text", loc=("body",)) from None
        except UnitsCsvError as exc:
            at_line = ("body", f"line {exc.line}", *((exc.field,) if exc.field else ()))
            raise errors.InvalidValue(str(exc), loc=at_line) from None
        items = [(f"line {line}", row) for line, row in rows]
    else:
        try:
            body = json.loads(raw)
        except ValueError:
            raise errors.InvalidValue("not JSON", loc=("body",)) from None
        if not isinstance(body, list):
            raise errors.InvalidValue("a JSON list of units, or text/csv", loc=("body",))
        items = [(str(index), item) for index, item in enumerate(body)]
    units: dict[str, dict[str, Any]] = {}
    for where, item in items:
        try:
            unit = UnitIn.model_validate(item)
        except ValidationError as exc:
            first = exc.errors()[0]
            named = ("body", where, *(str(part) for part in first["loc"]))
            raise errors.InvalidValue(first["msg"], loc=named) from None
        units[unit.unit.casefold()] = unit.model_dump()
    if not units:
        raise errors.InvalidValue("the directory has no units", loc=("body",))
    return list(units.values())


def check_guards_change(user: User) -> None:
    if user.role != "manager":
        raise errors.Forbidden("only a manager may add or disable guards")


def read_guards(store: Store, user: User, site: str | None) -> list[dict[str, Any]]:
    """The guards (of `site`, if given; API and page), never a PIN or its hash: a manager
    sees all, a supervisor those of their own sites (another site is 404), an auditor none
    (403)."""
    if user.role not in ("manager", "supervisor"):
        raise errors.Forbidden("only a manager or supervisor may see the guards")
    if site is not None and not user.may_see(site):
        raise errors.NotFound(f"no site {site}", loc=("query", "site"))
    return store.list_guards(user.sites, site)


def add_guard(request: Request, store: Store, user: User, body: m.GuardIn) -> dict[str, Any]:
    """Add a guard (manager; API and page): 422 for a site the hub does not know, 409 for a
    badge it does."""
    check_guards_change(user)
    sites = sorted(set(body.sites))
    known = set(store.site_names())
    for site in body.sites:
        if site not in known:
            raise errors.InvalidValue(f"no site {site}", loc=("body", "sites"))
    if store.has_guard(body.badge):
        raise errors.Conflict(f"badge {body.badge} exists", loc=("body", "badge"))
    guard = {
        "badge": body.badge,
        "name": body.name,
        "role": body.role.value,
        "pin_hash": hash_secret(body.pin),
        "sites": sites,
    }
    if not store.add_guard(guard, user.ref):
        raise errors.Conflict(f"badge {body.badge} exists", loc=("body", "badge"))
    store.audit(user.username, "add guard", f"{body.badge} ({guard['role']}) at {','.join(sites)}")
    send_down(request)
    return {k: guard[k] for k in ("badge", "name", "role", "sites")} | {"disabled": False}


def disable_guard(
    request: Request, store: Store, user: User, badge: str, body: m.GuardDisableIn
) -> dict[str, Any]:
    """Disable a guard at every post of their sites (manager; API and page); 404 for an
    unknown badge."""
    check_guards_change(user)
    sites = store.disable_guard(badge, body.reason)
    if sites is None:
        raise errors.NotFound(f"no guard {badge}", loc=("path", "badge"))
    store.audit(user.username, "disable guard", f"{badge}: {body.reason or ''}")
    send_down(request)
    return next(g for g in store.list_guards(None, None) if g["badge"] == badge)
