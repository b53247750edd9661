"""Reporting an incident, the incidents list, and one incident's page: its timeline, the
next status, and the steps of the suspicious-visitor procedure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from schemas import models as m
from schemas.grading import INCIDENT_FLOW, may_close, next_status
from service import errors
from service.incident_words import complaint_context
from service.pages_text import incident_timeline, who_closes

from .base import SUSPICIOUS, Page

router = APIRouter(include_in_schema=False)


def no_such_incident(page: Page) -> Response:
    return page.render("message.html", 404, message=page._("There is no such incident."))


@router.get("/incidents/new", response_class=HTMLResponse)
def newrender_incident(request: Request) -> Response:
    return Page.blank_form(request, "incident_new.html")


@router.post("/incidents/new", response_class=HTMLResponse)
async def open_incident(request: Request) -> Response:
    page = Page.of_user(request)
    form = await page.checked_form()
    incident_in, field_errors = page.validate(m.IncidentIn, with_offset(page, form, "reply_by"))
    if "reply_by" in field_errors:
        field_errors["reply_by"] = page._("Promise a reply at a time later than now.")
    if incident_in is not None:
        try:
            incident = await page.book.incidents.open(incident_in.model_dump(), by=page.me)
        except errors.UnknownVisit:
            field_errors["visit_id"] = page._("There is no such visit.")
    if field_errors:
        return page.render("incident_new.html", 422, values=form, errors=field_errors)
    return RedirectResponse(f"/incidents/{incident['id']}", status_code=303)


def with_offset(page: Page, form: dict[str, str], name: str) -> dict[str, str]:
    """The form with a time typed on the tablet (`datetime-local`: the site's local time,
    without an offset) given the site's offset, as the API's field needs it."""
    text = form.get(name, "").strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return form  # empty, or not a time: the model says what is wrong
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=page.zone())
    return {**form, name: moment.isoformat()}


@router.get("/incidents", response_class=HTMLResponse)
def incidents_page(request: Request, status: str | None = None) -> Response:
    page = Page.of_user(request)
    wanted = status if status in INCIDENT_FLOW else None
    return page.render("incidents.html", incidents=page.book.incidents.list(status=wanted))


def render_incident(
    page: Page, incident_id: str, status_code: int = 200, **context: Any
) -> Response:
    try:
        incident = page.book.incidents.get(incident_id)
    except errors.NotFound:
        return no_such_incident(page)
    if incident["category"] == SUSPICIOUS:
        kinds = {e["kind"] for e in incident["entries"]}
        context["steps"] = [  # the manuals: call the flat, call for backup
            ("call_flat", "action", page._("Call the flat on the intercom"), "action" in kinds),
            (
                "call_backup",
                "escalation",
                page._("Call the supervisor for backup"),
                "escalation" in kinds,
            ),
        ]
    context.update(complaint_context(page._, incident))
    step = next_status(incident["status"])
    if step == "closed" and not may_close(incident["severity"], "guard", page.me.role):
        step = None  # the manuals' grading: who may close, and who may approve here
        context["who_closes"] = who_closes(page._, incident["severity"])
        context["may_approve"] = may_close(incident["severity"], "guard", "supervisor")
    return page.render(
        "incident.html",
        status_code,
        incident=incident,
        next_status=step,
        timeline=incident_timeline(page._, page.labels(), incident),
        photos=page.book.photos.of_incident(incident_id),
        may_add_photo=True,
        **context,
    )


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(incident_id: str, request: Request) -> Response:
    return render_incident(Page.of_user(request), incident_id)


@router.post("/incidents/{incident_id}/entries", response_class=HTMLResponse)
async def add_entry(incident_id: str, request: Request) -> Response:
    page = Page.of_user(request)
    form = await page.checked_form()
    entry, retry = page.text_entry(m.EntryIn, form, "kind", "text")
    if entry is None:
        return render_incident(page, incident_id, 422, **retry)
    try:
        await page.book.incidents.add_entry(incident_id, entry.kind, entry.text, page.me)
    except errors.NotFound:
        return no_such_incident(page)
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)


@router.post("/incidents/{incident_id}/approve", response_class=HTMLResponse)
async def approve_closing(incident_id: str, request: Request) -> Response:
    """A supervisor closes a minor incident at the guard's tablet with badge + PIN, in a
    dialog: the guard stays logged in, and the incident is closed by the supervisor."""
    page = Page.of_user(request)
    form = await page.checked_form()
    auth = request.app.state.auth
    problem, status_code = None, 200
    try:
        approver = auth.approver(str(form.get("badge", "")), str(form.get("pin", "")))
        await page.book.incidents.set_status(incident_id, "closed", approver)
    except errors.TooManyAttempts:
        problem, status_code = page._("Too many wrong PINs. Wait 5 minutes."), 429
    except (errors.Unauthorized, errors.InvalidValue):
        problem, status_code = page._("Wrong badge or PIN."), 401
    except errors.Forbidden:
        problem, status_code = page._("Only a supervisor may close an incident."), 403
    except errors.TransitionForbidden:
        problem = page._("Not now: a complaint closes after a follow-up visit and a summary.")
        status_code = 409
    except errors.NotFound:
        return no_such_incident(page)
    if problem:
        return render_incident(
            page, incident_id, status_code, approve_error=problem, badge=form.get("badge", "")
        )
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)


@router.post("/incidents/{incident_id}/status", response_class=HTMLResponse)
async def set_status(incident_id: str, request: Request) -> Response:
    page = Page.of_user(request)
    form = await page.checked_form()
    try:
        await page.book.incidents.set_status(incident_id, form.get("status", ""), page.me)
    except errors.Forbidden:
        return render_incident(
            page, incident_id, 403, status_error=page._("Only a supervisor may close an incident.")
        )
    except errors.TransitionForbidden:
        message = page._("Not now: a complaint closes after a follow-up visit and a summary.")
        return render_incident(page, incident_id, 409, status_error=message)
    except errors.NotFound:
        return no_such_incident(page)
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)
