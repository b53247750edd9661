"""The overview of every site the user may see, and one site's page: posts, people, register,
open incidents and logbook."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from schemas.ids import utc_now
from service.logbook_words import worded_lines
from service.pages_text import day_field

from ..actions import audit_read
from ..device_health import device_warnings
from .base import HubPage, open_incidents

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def overview(request: Request) -> Response:
    """Every site the user may see: its posts' health, who is in, what is open."""
    page = HubPage.of_user(request)
    sites = page.me.sites
    now = utc_now()
    devices = [{**d, "warnings": device_warnings(d, now)} for d in page.store.list_devices(sites)]
    on_site = page.store.list_visits(sites, on_site=True)
    incidents = open_incidents(page.store, sites)
    names = sorted({d["site"] for d in devices} | set(sites or []))
    overview: list[dict[str, Any]] = [
        {
            "site": name,
            "devices": [d for d in devices if d["site"] == name],
            "on_site": sum(1 for v in on_site if v["site"] == name),
            "open": sum(1 for i in incidents if i["site"] == name),
            "urgent": sum(
                1
                for i in incidents
                if i["site"] == name and (i["overdue"] or i["severity"] == "severe")
            ),
            "tampered": any(d["tampered"] for d in devices if d["site"] == name),
        }
        for name in names
    ]
    overview.sort(key=lambda s: (not s["tampered"], -int(s["urgent"]), str(s["site"])))
    return page.render(
        "overview.html",
        sites=overview,
        urgent=[i for i in incidents if i["overdue"] or i["severity"] == "severe"],
        search_lag=page.store.search_lag(),
    )


@router.get("/sites/{site}", response_class=HTMLResponse)
def site_page(site: str, request: Request) -> Response:
    page = HubPage.of_user(request)
    known = {d["site"] for d in page.store.list_devices(None)}
    if not page.me.may_see(site) or site not in known:
        return page.not_found()
    today = utc_now().astimezone(page.store.zone).date()
    day, date_field = day_field(page._, request.query_params.get("date"), today)
    audit_read(page.store, page.me, "site page", site=site, date=day)
    labels, lines = page.labels(), page.store.logbook(site, day, raw=True)
    return page.render(
        "site.html",
        site=site,
        **date_field,
        devices=page.store.list_devices([site]),
        on_site=page.store.list_visits([site], on_site=True),
        register=page.store.list_visits([site], day=day),
        incidents=open_incidents(page.store, [site]),
        logbook=worded_lines(page._, labels, lines, page.store.line_names(site, lines)),
    )
