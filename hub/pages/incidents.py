"""The incidents list, one incident's timeline, and the supervisor's entry form."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from schemas import models as m
from schemas.grading import may_close, next_status
from service import errors
from service.incident_words import complaint_context
from service.pages_text import incident_timeline, who_closes

from ..actions import add_supervisor_entry, audit_read, visible_incident
from ..commands import send_command
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
    context.update(complaint_context(page._, incident))
    if page.me.may_write:  # what a supervisor or manager may ask of the post
        step = next_status(incident["status"])
        if step == "closed" and not may_close(incident["severity"], "hub", page.me.role):
            step, context["who_closes"] = None, who_closes(page._, incident["severity"])
        context["next_status"] = step
        context["assignees"] = page.store.assignees(incident["site"])
    return page.render(
        "incident.html",
        status_code,
        incident=incident,
        timeline=incident_timeline(page._, page.labels(), incident),
        photos=[  # a photo whose bytes have not come from the post yet shows a placeholder
            {**photo, "missing": photo["stored_at"] is None}
            for photo in page.store.incident_photos(incident_id)
        ],
        **context,
    )


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


# the command forms: (the body's model, the action, the field with its value)
COMMAND_FORMS: dict[str, tuple[type[m.Body], str]] = {
    "status": (m.StatusCommandIn, "status"),
    "assign": (m.AssignIn, "assignee"),
    "severity": (m.SeverityIn, "severity"),
}


@router.post("/incidents/{incident_id}/status", response_class=HTMLResponse)
async def move_incident(incident_id: str, request: Request) -> Response:
    return await _command_form(incident_id, "status", request)


@router.post("/incidents/{incident_id}/assign", response_class=HTMLResponse)
async def assign_incident(incident_id: str, request: Request) -> Response:
    return await _command_form(incident_id, "assign", request)


@router.post("/incidents/{incident_id}/severity", response_class=HTMLResponse)
async def regrade_incident(incident_id: str, request: Request) -> Response:
    return await _command_form(incident_id, "severity", request)


async def _command_form(incident_id: str, action: str, request: Request) -> Response:
    """The status, assign and re-grade forms: each becomes a command for the incident's post
    (`hub.commands`), shown as pending on the page until the post's answer arrives."""
    page = HubPage.of_user(request)
    form = await page.checked_form()
    try:
        incident = visible_incident(page.store, page.me, incident_id)
    except errors.NotFound:
        return page.not_found()
    model, field = COMMAND_FORMS[action]
    body, field_errors = page.validate(model, form)
    if body is None:
        return _incident_page(page, incident_id, 422, command_errors=field_errors, values=form)
    value = getattr(body, field)
    try:
        send_command(
            request,
            incident,
            page.me,
            action,
            getattr(value, "value", value),
            getattr(body, "reason", None),
        )
    except errors.Forbidden:
        message = page._("You may not do this.")
        return _incident_page(page, incident_id, 403, command_errors={field: message})
    except errors.InvalidValue:
        message = page._("Please choose one of the options.")
        return _incident_page(page, incident_id, 422, command_errors={field: message}, values=form)
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)
