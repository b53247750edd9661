"""Logging a door event, the logbook of a day, and the shift handover (handing over, and the
incoming guard acknowledging the last handover): the pages that write and read the post's
running record."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from schemas import models as m
from service import errors
from service.pages_text import day_field

from .base import Page

router = APIRouter(include_in_schema=False)


@router.post("/door-events/new", response_class=HTMLResponse)
async def record_door_event(request: Request) -> Response:
    page = Page.of_user(request)
    form = await page.checked_form()
    door, field_errors = page.validate(m.DoorEventIn, form)
    if door is not None and door.kind == m.DoorKind.guard_override and not door.reason:
        field_errors["reason"] = page._("A door opened by the guard needs a reason.")
    if door is not None and not field_errors:
        try:
            await page.book.doors.record(door.model_dump(), by=page.me)
        except errors.UnknownVisit:
            field_errors["visit_id"] = page._("There is no such visit.")
    if door is None or field_errors:
        return page.render("door_new.html", 422, values=form, errors=field_errors)
    return RedirectResponse("/logbook", status_code=303)


@router.get("/door-events/new", response_class=HTMLResponse)
def new_door_event_page(request: Request) -> Response:
    return Page.blank_form(request, "door_new.html")


@router.get("/logbook", response_class=HTMLResponse)
def logbook_page(request: Request, date: str | None = None) -> Response:
    page = Page.of_user(request)
    day, date_field = day_field(page._, date, page.book.today())
    return page.render(
        "logbook.html", **date_field, entries=page.worded(page.book.logbook(day, raw=True))
    )


def shift_context(page: Page) -> dict[str, Any]:
    """What the handover page shows: the last handover (with the acknowledge button while this
    guard has to see it) and the lines since."""
    return {
        "handover": page.book.shift_notes.last(),
        "may_acknowledge": page.waiting_handover() is not None,
        "entries": page.worded(page.book.shift_notes.since_last_handover(raw=True)),
    }


@router.get("/shift", response_class=HTMLResponse)
def shift_page(request: Request) -> Response:
    page = Page.of_user(request)
    return page.render("shift.html", **shift_context(page))


@router.post("/shift", response_class=HTMLResponse)
async def hand_over(request: Request) -> Response:
    page = Page.of_user(request)
    form = await page.checked_form()
    note, retry = page.text_entry(m.ShiftNoteIn, form, "text")
    if note is None:
        return page.render("shift.html", 422, **shift_context(page), **retry)
    await page.book.shift_notes.add(note.text, page.me)
    return RedirectResponse("/shift", status_code=303)


@router.post("/shift/acknowledge", response_class=HTMLResponse)
async def acknowledge_handover(request: Request) -> Response:
    """The incoming guard has read the last handover; then the post at a glance. A handover
    another tablet's guard acknowledged first needs nothing more."""
    page = Page.of_user(request)
    await page.checked_form()
    try:
        await page.book.shift_notes.acknowledge(page.me)
    except (errors.NoHandover, errors.AlreadyAcknowledged):
        pass
    return RedirectResponse("/", status_code=303)
