"""Logbook search across sites and dates, and the manager's audit log."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from schemas.ids import FIRST_DAY, LAST_DAY
from service.pages_text import asked_day, line_text

from ..actions import audit_read
from .base import HubPage

router = APIRouter(include_in_schema=False)


def record_link(line: dict[str, Any]) -> str:
    """Where a search result leads: its visit's or incident's page, else its site's day."""
    kind = line["type"]
    if kind.startswith("visit."):
        return f"/visits/{line['record_id']}"
    if kind.startswith("incident."):
        return f"/incidents/{line['incident_id'] or line['record_id']}"
    if line["visit_id"]:  # a door event for a visitor
        return f"/visits/{line['visit_id']}"
    return f"/sites/{line['site']}?date={line['at'][:10]}"


def worded(_: Any, labels: dict[str, Any], line: dict[str, Any]) -> str:
    """A search result's line in the page's language, as the logbook pages word it."""
    raw = {**line, "data": json.loads(line["data"]), "pii": json.loads(line["pii"] or "null")}
    return line_text(_, labels, raw)


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request) -> Response:
    """Logbook search across the user's sites and dates; Chinese words work."""
    page = HubPage.of_user(request)
    query = request.query_params
    text = (query.get("q") or "").strip()[:100]
    site = query.get("site") or None
    if site and not page.me.may_see(site):
        return page.not_found()
    since, until = query.get("from") or "", query.get("to") or ""
    first, since_error = asked_day(page._, since, FIRST_DAY)
    last, until_error = asked_day(page._, until, LAST_DAY)
    problems = {k: v for k, v in (("from", since_error), ("to", until_error)) if v}
    results: list[dict[str, Any]] = []
    if text and not problems:
        audit_read(page.store, page.me, "search", q=text, site=site)
        start = page.store.day_bounds(first)[0] if since else None
        end = page.store.day_bounds(last)[1] if until else None
        found = page.store.search([site] if site else page.me.sites, text, start, end)
        labels = page.labels()
        results = [
            {**line, "link": record_link(line), "summary": worded(page._, labels, line)}
            for line in found
        ]
    sites = sorted({d["site"] for d in page.store.list_devices(page.me.sites)})
    return page.render(
        "search.html",
        422 if problems else 200,
        q=text,
        site=site or "",
        since=since,
        until=until,
        problems=problems,
        sites=sites,
        results=results,
    )


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request) -> Response:
    page = HubPage.of_user(request)
    if page.me.role != "manager":
        return page.render(
            "message.html", 403, message=page._("Only a manager may read the audit log.")
        )
    words = audit_actions(page._)
    entries = [
        {**entry, "action": words.get(entry["action"], entry["action"])}
        for entry in page.store.audit_log()
    ]
    return page.render("audit.html", entries=entries)


def audit_actions(_: Any) -> dict[str, str]:
    """What each audit log action code says, in the page's language (the log keeps codes)."""
    return {
        "api visits": _("Read visits (API)"),
        "api incidents": _("Read incidents (API)"),
        "api incident": _("Read an incident (API)"),
        "api logbook": _("Read a logbook (API)"),
        "api search": _("Searched the logbooks (API)"),
        "search": _("Searched the logbooks"),
        "site page": _("Opened a site's page"),
        "incidents page": _("Opened the incidents"),
        "incident page": _("Opened an incident"),
        "visit page": _("Opened a visit"),
        "directory page": _("Opened a site's directory"),
        "view watch list": _("Opened the watch list"),
        "report daily": _("Daily report"),
        "report monthly": _("Monthly report"),
        "add guard": _("Added a guard"),
        "disable guard": _("Disabled a guard"),
        "change site": _("Changed a site"),
        "change site settings": _("Changed a site's settings"),
        "replace directory": _("Replaced a site's directory"),
        "incident status": _("Asked a post to change an incident's status"),
        "incident assign": _("Asked a post to assign an incident"),
        "incident severity": _("Asked a post to re-grade an incident"),
    }
