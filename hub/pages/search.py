"""Logbook search across sites and dates, and the manager's audit log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from schemas.ids import FIRST_DAY, LAST_DAY
from service.pages_text import asked_day

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
        results = [{**line, "link": record_link(line)} for line in found]
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
    return page.render("audit.html", entries=page.store.audit_log())
