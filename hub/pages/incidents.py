"""The incidents list, one incident's timeline, and the supervisor's entry form."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from schemas import models as m
from service import errors

from ..actions import add_supervisor_entry, audit_read, visible_incident
from .base import SEVERITY_ORDER, HubPage, by_urgency

router = APIRouter(include_in_schema=False)


@router.get("/incidents", response_class=HTMLResponse)
def incidents_page(request: Request) -> Response:
    page = HubPage.of_user(request)
    query = request.query_params
    site = query.get("site") or None
    if site and not page.me.may_see(site):
        return page.not_found()
    status = (
        query.get("status")
        if query.get("status") in ("open", "acknowledged", "in_progress", "resolved", "closed")
        else None
    )
    severity = query.get("severity") if query.get("severity") in SEVERITY_ORDER else None
    overdue = True if query.get("overdue") == "true" else None
    incidents = by_urgency(
        page.store.list_incidents(
            [site] if site else page.me.sites, status=status, severity=severity, overdue=overdue
        )
    )
    audit_read(
        page.store,
        page.me,
        "incidents page",
        site=site,
        status=status,
        severity=severity,
        overdue=overdue,
    )
    sites = sorted({d["site"] for d in page.store.list_devices(page.me.sites)})
    return page.render(
        "incidents.html",
        incidents=incidents,
        sites=sites,
        chosen={
            "site": site or "",
            "status": status or "",
            "severity": severity or "",
            "overdue": bool(overdue),
        },
    )


def _incident_page(
    page: HubPage, incident_id: str, status_code: int = 200, **context: Any
) -> Response:
    try:
        incident = visible_incident(page.store, page.me, incident_id)
    except errors.NotFound:
        return page.not_found()
    return page.render("incident.html", status_code, incident=incident, **context)


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(incident_id: str, request: Request) -> Response:
    page = HubPage.of_user(request)
    answer = _incident_page(page, incident_id)
    if answer.status_code == 200:
        audit_read(page.store, page.me, "incident page", id=incident_id)
    return answer


@router.post("/incidents/{incident_id}/entries", response_class=HTMLResponse)
async def add_entry(incident_id: str, request: Request) -> Response:
    """The supervisor's entry: stored here at once and delivered down to the post."""
    page = HubPage.of_user(request)
    form = await page.checked_form()
    try:
        incident = visible_incident(page.store, page.me, incident_id)
    except errors.NotFound:
        return page.not_found()
    entry, retry = page.text_entry(m.EntryIn, form, "kind", "text")
    if entry is None:
        return _incident_page(page, incident_id, 422, **retry)
    try:
        add_supervisor_entry(request, incident, page.me, entry.kind.value, entry.text)
    except errors.Forbidden:
        return _incident_page(
            page, incident_id, 403, text_error=page._("An auditor may read but not write.")
        )
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)
