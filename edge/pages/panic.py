"""The panic button's pages (CONTRACT section 9): the button itself is in every tablet page's
bar (`templates/_panic.html`, held 2 s with `service/static/panic.js`); without the script, or
after a tap that was not a hold from a screen reader, it posts here without `confirm` and this
page asks to confirm first. Once confirmed, the incident is opened and the guard sees that
help is being called."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from schemas import models as m
from service import errors
from service.incident_words import PANIC

from .base import Page
from .incidents import no_such_incident

router = APIRouter(include_in_schema=False)


@router.get("/panic", response_class=HTMLResponse)
def confirm_page(request: Request) -> Response:
    """Asks to confirm (a second step, so a stray tap calls nobody), with an optional note."""
    return Page.blank_form(request, "panic.html")


@router.post("/panic", response_class=HTMLResponse)
async def call_for_help(request: Request) -> Response:
    page = Page.of_user(request)
    form = await page.checked_form()
    if form.get("confirm") != "yes":  # the button without its 2-second hold: confirm first
        return page.render("panic.html", values=form, errors={})
    body, field_errors = page.validate(m.PanicIn, {"note": form.get("note", "")})
    if body is None:
        return page.render("panic.html", 422, values=form, errors=field_errors)
    incident_id = await page.book.panic.call_for_help(body.note, page.me)
    return RedirectResponse(f"/panic/{incident_id}", status_code=303)


@router.get("/panic/{incident_id}", response_class=HTMLResponse)
def help_called(request: Request, incident_id: str) -> Response:
    """Help is being called: the incident, and whether the hub has it, is being told, or
    will be once the post is online (a live page: it follows the sync state)."""
    page = Page.of_user(request)
    try:
        incident = page.book.incidents.get(incident_id, with_entries=False)
    except errors.NotFound:
        return no_such_incident(page)
    if incident.get("title_code") != PANIC:
        return no_such_incident(page)
    seq = page.book.panic.seq_of(incident_id) or 0
    return page.render(
        "panic_called.html", incident=incident, at_hub=page.sync["acked_seq"] >= seq > 0
    )
