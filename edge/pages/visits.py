"""The post at a glance (with the undo of a check-out), the visitors' register and its search
across days, registering a visitor, and one visit's page with what a guard does there: check
out, let in without the resident, hold as suspicious."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from schemas import models as m
from schemas.ids import format_time, parse_time, utc_now
from service import errors
from service.pages_text import day_field, field_message

from ..logbook import Logbook
from .base import SUSPICIOUS, Page

router = APIRouter(include_in_schema=False)
JUST_REGISTERED = "gp_registered"  # the visit this browser registered last
JUST_REGISTERED_S = 600  # how long its page leads with "Next visitor"
UNDO_SHOWN_S = 10  # how long home offers to undo a check-out (CONTRACT 7: "a few seconds")


def held_incident(book: Logbook, visit_id: str) -> dict[str, Any] | None:
    """The open suspicious-visitor incident that holds this visitor in the lobby, if any."""
    held = [
        i
        for i in book.incidents.for_visit(visit_id)
        if i["category"] == SUSPICIOUS and i["status"] != "closed"
    ]
    return held[0] if held else None


def visit_context(book: Logbook, visit: dict[str, Any]) -> dict[str, Any]:
    """What the visit page shows besides the visit: the hold, the watch-list incident, how
    ringing the flat goes, and the resident's pre-approval."""
    incidents = book.incidents.for_visit(visit["id"])
    return {
        "visit": visit,
        "held": held_incident(book, visit["id"]),
        "watch": next((i for i in incidents if i["category"] == "watch_list"), None),
        "delivery": book.deliveries.state(visit["id"]),
        "preapproval": book.preapprovals.for_visit(visit["id"]),
    }


def no_such_visit(page: Page) -> Response:
    return page.render("message.html", 404, message=page._("There is no such visit."))


def just_checked_out(book: Logbook) -> list[dict[str, Any]]:
    """The visits checked out in the last `UNDO_SHOWN_S`, each with `undo_s`, the seconds its
    undo button has left (service/static/undo.js takes it away then)."""
    now = utc_now()
    since = format_time(now - timedelta(seconds=UNDO_SHOWN_S))
    return [
        {**v, "undo_s": UNDO_SHOWN_S - (now - parse_time(v["checked_out_at"])).total_seconds()}
        for v in book.visits.list(out_since=since)
    ]


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    page = Page.of_user(request)
    incidents = [i for i in page.book.incidents.list() if i["status"] != "closed"]
    order = {"severe": 0, "medium": 1, "minor": 2}
    incidents.sort(key=lambda i: (not i["overdue"], order[i["severity"]], i["opened_at"]))
    # overdue and severe ones come first on the page, above the visitors (issue 15)
    urgent = [i for i in incidents if i["overdue"] or i["severity"] == "severe"]
    present = page.book.visits.list(on_site=True)
    # still at the door for the resident's answer: listed first, not counted as on site
    waiting = [v for v in present if v["confirmation"]["status"] in ("pending", "no_answer")]
    on_site = [v for v in present if v not in waiting]
    return page.render(
        "home.html",
        on_site=on_site,
        waiting=waiting,
        urgent=urgent,
        just_out=just_checked_out(page.book),
        incidents=[i for i in incidents if i not in urgent],
        handover=page.waiting_handover(),  # the last handover, until this guard acknowledges it
    )


@router.get("/visits", response_class=HTMLResponse)
def register_page(
    request: Request,
    date: str | None = None,
    unit: str | None = None,
    on_site: str | None = None,
    q: str | None = None,
) -> Response:
    """The visitors' register of a day (today by default), filtered by unit or on site; `q`
    searches every day the post still keeps instead (name, phone, plate, unit)."""
    page = Page.of_user(request)
    day, date_field = day_field(page._, date, page.book.today())
    unit, text = (unit or "").strip()[:32], (q or "").strip()[:100]
    visits = page.book.visits.list(
        day=None if text else day,
        unit=unit or None,
        on_site=True if on_site == "true" else None,
        text=text,
    )
    return page.render(
        "visits.html",
        **date_field,
        visits=visits,
        unit=unit,
        q=text,
        on_site=on_site == "true",
        units=page.book.directory.list(limit=500),
    )


@router.get("/visits/new", response_class=HTMLResponse)
def new_visit_page(request: Request) -> Response:
    page = Page.of_user(request)
    return page.render(
        "visit_new.html",
        values={"party_size": "1"},
        errors={},
        units=page.book.directory.list(limit=500),
    )


@router.post("/visits/new", response_class=HTMLResponse)
async def register_visit(request: Request) -> Response:
    page = Page.of_user(request)
    form = await page.checked_form()
    # party_size is strict on the API (no "3"); a form only has text, so it is read here
    party_size = form.get("party_size", "").strip()
    is_number = party_size.isascii() and party_size.isdigit() and len(party_size) <= 6  # not ³
    visit_in, field_errors = page.validate(
        m.VisitIn, {**form, "party_size": int(party_size) if is_number else party_size}
    )
    if visit_in is not None:
        try:
            visit = await page.book.visits.register(visit_in.model_dump(), by=page.me)
        except errors.UnknownUnit:
            field_errors["unit"] = field_message(page._, {"type": "unknown_unit"})
        except errors.PreapprovalRefused as exc:
            field_errors["preapproval_code"] = field_message(
                page._, {"type": exc.type, "msg": exc.msg}
            )
    if field_errors:
        kept = {k: v for k, v in form.items() if k not in ("csrf", "id_number")}
        return page.render(
            "visit_new.html",
            422,
            values=kept,
            errors=field_errors,
            units=page.book.directory.list(limit=500),
        )
    saved = RedirectResponse(f"/visits/{visit['id']}", status_code=303)
    # the visit's page then says it was saved and offers the next visitor first (issue 15);
    # a cookie, not the URL, so that a live refresh of the page keeps saying it
    saved.set_cookie(
        JUST_REGISTERED,
        visit["id"],
        max_age=JUST_REGISTERED_S,
        path="/visits",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return saved


@router.get("/visits/{visit_id}", response_class=HTMLResponse)
def visit_page(visit_id: str, request: Request) -> Response:
    page = Page.of_user(request)
    try:
        visit = page.book.visits.get(visit_id)
    except errors.NotFound:
        return no_such_visit(page)
    just_registered = request.cookies.get(JUST_REGISTERED) == visit_id
    return page.render(
        "visit.html",
        just_registered=just_registered and not visit["checked_out_at"],
        **visit_context(page.book, visit),
    )


@router.post("/visits/{visit_id}/checkout")
async def check_out(visit_id: str, request: Request) -> Response:
    page = Page.of_user(request)
    await page.checked_form()
    try:
        await page.book.visits.check_out(visit_id, by=page.me)
    except (errors.AlreadyCheckedOut, errors.NotFound):
        pass  # already out (another tablet, a double tap): the page shows it as it is
    back = request.headers.get("referer", "/")
    return RedirectResponse(
        "/" if f"/visits/{visit_id}" not in back else f"/visits/{visit_id}", status_code=303
    )


@router.post("/visits/{visit_id}/undo-checkout")
async def undo_check_out(visit_id: str, request: Request) -> Response:
    """The home page's undo, a few seconds after a check-out: the visitor is on site again."""
    page = Page.of_user(request)
    await page.checked_form()
    try:
        await page.book.visits.undo_check_out(visit_id, by=page.me)
    except (errors.NotCheckedOut, errors.UndoTooLate, errors.NotFound):
        pass  # undone already, or too late: the page shows the visit as it is
    return RedirectResponse("/", status_code=303)


@router.post("/visits/{visit_id}/override", response_class=HTMLResponse)
async def override(visit_id: str, request: Request) -> Response:
    page = Page.of_user(request)
    form = await page.checked_form()
    try:
        visit = page.book.visits.get(visit_id)
    except errors.NotFound:
        return no_such_visit(page)
    body, field_errors = page.validate(m.OverrideIn, {"reason": form.get("reason", "")})
    if body is None:
        return page.render(
            "visit.html",
            422,
            reason=form.get("reason", ""),
            reason_error=field_errors.get("reason", page._("Please check this.")),
            **visit_context(page.book, visit),
        )
    try:
        await page.book.visits.override(visit_id, body.reason, by=page.me)
    except errors.ConfirmationClosed:
        pass
    return RedirectResponse(f"/visits/{visit_id}", status_code=303)


@router.post("/visits/{visit_id}/suspicious")
async def mark_suspicious(visit_id: str, request: Request) -> Response:
    """The manuals' procedure: hold the visitor in the lobby, open a linked incident whose
    page lists the steps (call the flat, call the supervisor for backup) to tick off."""
    page = Page.of_user(request)
    await page.checked_form()
    try:
        visit = page.book.visits.get(visit_id)
    except errors.NotFound:
        return no_such_visit(page)
    held = held_incident(page.book, visit_id)
    if held:
        return RedirectResponse(f"/incidents/{held['id']}", status_code=303)
    incident = await page.book.incidents.open(
        {
            "category": SUSPICIOUS,
            "severity": "medium",
            "title": f"{page._('Suspicious visitor')} · {visit['unit']}",
            "location": page._("Lobby"),
            "visit_id": visit_id,
            "channel": "in_person",
        },
        by=page.me,
    )
    return RedirectResponse(f"/incidents/{incident['id']}", status_code=303)


@router.post("/visits/lookup")
async def repeat_visitor(request: Request) -> Response:
    """For the registration form: the name and company of an earlier visitor with the same ID
    number, so the guard can fill them in with one tap. The number is not echoed or logged."""
    page = Page(request)
    if page.guard is None:
        return JSONResponse({"found": False}, status_code=401)
    form = await page.form()
    if not page.csrf_ok(form):
        return JSONResponse({"found": False}, status_code=403)
    found = page.book.visits.repeat_visitor(form.get("id_number", "")[:40])
    return JSONResponse({"found": found is not None, **(found or {})})
