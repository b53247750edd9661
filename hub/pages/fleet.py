"""The fleet's pages (CONTRACT section 8): the sites with their settings and which version each
post applied (`/sites`), one site's record and settings (`/sites/{site}/settings`) and its
directory (`/sites/{site}/units`). A manager changes them here with the same actions as the API
(`hub.actions`); a supervisor or auditor reads their own sites (no forms; a change is 403),
another site is 404."""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from schemas import models as m
from service import errors
from service.pages import CsrfRefused
from service.pages_text import field_message

from ..actions import audit_read, check_site_access, put_settings, put_site, put_units
from .base import HubPage

router = APIRouter(include_in_schema=False)

GRADES = ("minor", "medium", "severe")
SETTINGS = (
    "retention_days",
    "held_open_s",
    "idle_minutes",
    "default_lang",
    "patrol_missed_severity",
)
RECORD = ("name", "timezone", "kind")


def fleet_labels(page: HubPage) -> dict[str, Any]:
    """The codes the fleet's pages show, in the page's language."""
    _ = page._
    languages = {"en": "English", "zh-Hant": "繁體中文", "zh-Hans": "简体中文"}
    return {
        "site_kinds": {"residential": _("Residential"), "commercial": _("Commercial")},
        "lang_names": languages,
        "lang_choices": {"": _("the post's own"), **languages},
        "guard_roles": {"guard": _("Guard"), "supervisor": _("Supervisor")},
        "missed_choices": {
            "": _("Medium (the default)"),
            "minor": _("Minor"),
            "medium": _("Medium"),
            "severe": _("Severe"),
        },
    }


def field_problems(page: HubPage, exc: ValidationError | errors.GuardpostError) -> dict[str, str]:
    """Messages by form field (a nested field as `deadlines_h.minor`), in the page's language;
    "" for what names no field."""
    _ = page._
    known = {
        **{f"deadlines_h.{g}": _("Enter hours: more than 0, at most 8760.") for g in GRADES},
        "retention_days": _("Enter whole days from 1 to 3650."),
        "held_open_s": _("Enter seconds from 0 to 86400."),
        "idle_minutes": _("Enter minutes: more than 0, at most 1440."),
        "timezone": _("Not a time zone; write it like Asia/Hong_Kong."),
        "site": _("Use lower-case letters, digits and dashes, like harbour-view."),
        "": _("Change at least one setting."),
    }
    if isinstance(exc, ValidationError):
        found = [(e["loc"], field_message(_, dict(e))) for e in exc.errors()]
    else:
        found = [(exc.loc, "")]
    messages: dict[str, str] = {}
    for loc, message in found:
        name = ".".join(str(part) for part in loc if part not in ("body", "path"))
        messages.setdefault(name, known.get(name) or message or _("Please check this."))
    return messages


def shown(value: Any) -> str:
    """A setting as the form shows it: 12.0 as 12."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def settings_values(site: dict[str, Any]) -> dict[str, str]:
    """The form's values of a site's record and settings, as set at the hub."""
    settings = site["settings"]
    deadlines = settings.get("deadlines_h", {})
    return {
        "name": site["name"],
        "timezone": site["timezone"] or "Asia/Hong_Kong",
        "kind": site["kind"] or "residential",
        **{f"deadlines_h.{g}": shown(deadlines.get(g)) for g in GRADES},
        **{k: shown(settings.get(k)) for k in SETTINGS},
    }


def visible_site(page: HubPage, site: str) -> dict[str, Any]:
    """The site, if the user may see it and the hub knows it; NotFound (404) otherwise."""
    check_site_access(page.me, site, change=False)
    record = page.store.get_site(site)
    if record is None:
        raise errors.NotFound(f"no site {site}", loc=("path", "site"))
    return record


def posts_of(page: HubPage, site: dict[str, Any]) -> list[dict[str, Any]]:
    """The site's posts, each with the versions it applied and whether it has the latest, and
    the Guardpost version it runs."""
    name = site["site"]
    latest = {
        "settings": site["version"],
        "directory": page.store.directory(name)["version"],
        "roster": page.store.roster(name)["version"],
        "patrols": page.store.patrols_version(name),
    }
    software = {d["device"]: d["version"] for d in page.store.list_devices([name])}
    return [
        {
            "device": device,
            "version": software.get(device),
            "applied": applied,
            "latest": latest,
            "current": all(applied[k] >= latest[k] for k in latest),
        }
        for device, applied in sorted(page.store.applied_versions(name).items())
    ]


@router.get("/sites", response_class=HTMLResponse)
def sites_page(request: Request) -> Response:
    """Every site the user may see: its record, the settings set at the hub, its posts."""
    return _sites_page(HubPage.of_user(request))


def _sites_page(page: HubPage, status_code: int = 200, **context: Any) -> Response:
    sites = page.store.list_sites(page.me.sites)
    return page.render(
        "fleet_sites.html",
        status_code,
        **fleet_labels(page),
        sites=[{**s, "posts": posts_of(page, s)} for s in sites],
        with_posts={d["site"] for d in page.store.list_devices(page.me.sites)},
        **{"values": {"timezone": "Asia/Hong_Kong"}, "errors": {}, **context},
    )


@router.post("/sites", response_class=HTMLResponse)
async def add_site(request: Request) -> Response:
    """A manager adds a site (`site`, the slug the posts are provisioned with, and its
    record); a site the hub knows already is refused next to `site`."""
    page = HubPage.of_user(request)
    form = await page.checked_form()
    typed = {k: form.get(k, "").strip() for k in ("site", *RECORD)}
    if page.me.role != "manager":
        raise errors.Forbidden("only a manager may change a site")
    try:
        if not typed["site"]:
            raise errors.InvalidValue("give the site", loc=("body", "site"))
        if typed["site"] in page.store.site_names():
            raise errors.Conflict("the site exists", loc=("body", "site"))
        body = m.SiteIn.model_validate({k: v for k, v in typed.items() if v and k != "site"})
        put_site(request, page.store, page.me, typed["site"], body)
    except (ValidationError, errors.InvalidValue, errors.Conflict) as exc:
        problems = field_problems(page, exc)
        if isinstance(exc, errors.Conflict):
            problems["site"] = page._("There is a site with this name already.")
        return _sites_page(page, 422, values=typed, errors=problems)
    return RedirectResponse(f"/sites/{typed['site']}/settings", status_code=303)


def _settings_page(page: HubPage, site: str, status_code: int = 200, **context: Any) -> Response:
    record = visible_site(page, site)
    return page.render(
        "fleet_site.html",
        status_code,
        **fleet_labels(page),
        site=record,
        posts=posts_of(page, record),
        has_posts=bool(page.store.list_devices([site])),
        **{"values": settings_values(record), "errors": {}, **context},
    )


@router.get("/sites/{site}/settings", response_class=HTMLResponse)
def site_settings_page(site: str, request: Request) -> Response:
    """One site's record and settings; a manager's forms change them."""
    return _settings_page(HubPage.of_user(request), site)


@router.post("/sites/{site}/record", response_class=HTMLResponse)
async def change_site_record(site: str, request: Request) -> Response:
    page = HubPage.of_user(request)
    form = await page.checked_form()
    check_site_access(page.me, site, change=True)
    typed = {k: form.get(k, "").strip() for k in RECORD}
    try:
        body = m.SiteIn.model_validate({k: v for k, v in typed.items() if v})
        put_site(request, page.store, page.me, site, body)
    except (ValidationError, errors.InvalidValue) as exc:
        record = visible_site(page, site)
        values = {**settings_values(record), **typed}
        return _settings_page(page, site, 422, values=values, errors=field_problems(page, exc))
    return RedirectResponse(f"/sites/{site}/settings", status_code=303)


@router.post("/sites/{site}/settings", response_class=HTMLResponse)
async def change_site_settings(site: str, request: Request) -> Response:
    """Any subset of the settings: a field left empty keeps its value."""
    page = HubPage.of_user(request)
    form = await page.checked_form()
    check_site_access(page.me, site, change=True)
    typed = {k: form.get(k, "").strip() for k in (*(f"deadlines_h.{g}" for g in GRADES), *SETTINGS)}
    deadlines = {g: typed[f"deadlines_h.{g}"] for g in GRADES if typed[f"deadlines_h.{g}"]}
    given: dict[str, Any] = {k: typed[k] for k in SETTINGS if typed[k]}
    if deadlines:
        given["deadlines_h"] = deadlines
    try:
        body = m.SiteSettingsIn.model_validate(given)
        put_settings(request, page.store, page.me, site, body)
    except (ValidationError, errors.InvalidValue) as exc:
        values = {**settings_values(visible_site(page, site)), **typed}
        return _settings_page(page, site, 422, values=values, errors=field_problems(page, exc))
    return RedirectResponse(f"/sites/{site}/settings", status_code=303)


def _units_page(page: HubPage, site: str, status_code: int = 200, **context: Any) -> Response:
    record = visible_site(page, site)
    directory = page.store.directory(site)
    audit_read(page.store, page.me, "directory page", site=site)  # it names residents
    return page.render(
        "fleet_units.html",
        status_code,
        site=record,
        directory=directory,
        **{"values": {}, "errors": {}, **context},
    )


@router.get("/sites/{site}/units", response_class=HTMLResponse)
def units_page(site: str, request: Request) -> Response:
    """The site's directory as the hub last sent it; a manager uploads a new one."""
    return _units_page(HubPage.of_user(request), site)


async def uploaded(page: HubPage) -> tuple[dict[str, str], bytes]:
    """The directory form, sent as `multipart/form-data` (a file) or urlencoded: its text
    fields, and the CSV (the file if one was chosen, else the `csv` text). CsrfRefused (403)
    without the form's token."""
    kind = page.request.headers.get("content-type", "")
    if not kind.lower().startswith("multipart/form-data"):
        fields = await page.form()
        if not page.csrf_ok(fields):
            raise CsrfRefused(page)
        return fields, fields.get("csv", "").encode()
    raw = await page.request.body()
    head = f"Content-Type: {kind}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=HTTP).parsebytes(head + raw)
    fields, files = {}, {}
    for part in message.iter_parts() if message.is_multipart() else []:
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            continue
        if part.get_filename() is not None:
            files[name] = payload
        else:
            fields[name] = payload.decode("utf-8", errors="replace")
    if not page.csrf_ok(fields):
        raise CsrfRefused(page)
    return fields, files.get("file") or fields.get("csv", "").encode()


def directory_problem(page: HubPage, exc: errors.GuardpostError) -> str:
    """Where a refused upload is wrong (its line and field), in the page's language."""
    _ = page._
    where = [str(part) for part in exc.loc[1:]]
    if not where or not where[0].startswith("line "):
        return str(
            _("This is not a UTF-8 CSV file of units with the header unit,intercom,residents.")
        )
    line, field = where[0].removeprefix("line "), (where[1] if len(where) > 1 else "")
    if field == "header":
        return str(_("Line 1: the first line must be unit,intercom,residents."))
    if not field:
        return str(
            _("Line %(line)s: a line has three fields: unit,intercom,residents.") % {"line": line}
        )
    names = {"unit": _("Unit"), "intercom": _("Intercom"), "residents": _("Residents")}
    return str(
        _("Line %(line)s, %(field)s: empty, too long, or with control characters.")
        % {"line": line, "field": names.get(field, field)}
    )


@router.post("/sites/{site}/units", response_class=HTMLResponse)
async def upload_units(site: str, request: Request) -> Response:
    """Replace the directory with an uploaded (or pasted) CSV; refused whole if a line is bad,
    the message naming the line and field, the text kept in the box to correct it."""
    page = HubPage.of_user(request)
    fields, csv = await uploaded(page)
    check_site_access(page.me, site, change=True)
    try:
        if not csv.strip():
            raise errors.InvalidValue("no file", loc=("body",))
        await run_in_threadpool(put_units, request, page.store, page.me, site, csv, "text/csv")
    except errors.InvalidValue as exc:
        problem = (
            page._("Choose a CSV file, or paste its lines in the box.")
            if not csv.strip()
            else directory_problem(page, exc)
        )
        kept = {"csv": csv.decode("utf-8", errors="replace")}
        return _units_page(page, site, 422, values=kept, errors={"csv": problem})
    return RedirectResponse(f"/sites/{site}/units", status_code=303)
