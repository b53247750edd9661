"""The edge's HTTP API (`/api/v1`, CONTRACT section 2). Each route parses, calls one method of the
logbook or auth, and returns a model. Who is asking is settled before the body is read
(`service.http.BearerAuth`), so a request without a valid token is 401 whatever its body."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from schemas import models as m
from service import errors, sqlite
from service.http import COMMON_ERRORS, actor_dependency, state_dependency

from .auth import Auth
from .logbook import Actor, Logbook


def reply(record: dict[str, Any], status_code: int = 200) -> JSONResponse:
    """Answer a record the logbook built in its model's shape, without validating it again
    (the hot path of a busy lobby; tests pin each record's exact shape)."""
    return JSONResponse(record, status_code=status_code)


# ---- dependencies (async: they only read request state, so no threadpool hop) --------------


LogbookDep = Annotated[Logbook, Depends(state_dependency("book", Logbook))]
AuthDep = Annotated[Auth, Depends(state_dependency("auth", Auth))]
current_actor = actor_dependency(Actor)


async def current_guard(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
    if actor.kind != "guard":
        raise errors.Forbidden("this needs a guard's login, not an API key")
    return actor


async def current_supervisor(guard: Annotated[Actor, Depends(current_guard)]) -> Actor:
    if guard.role != "supervisor":
        raise errors.Forbidden("this needs a supervisor")
    return guard


async def door_writer(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
    if actor.kind == "guard" or actor.scope == "door":
        return actor
    raise errors.Forbidden("this key may not post door events")


async def intercom_key(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
    if actor.kind == "key" and actor.scope == "intercom":
        return actor
    raise errors.Forbidden("only an intercom key may answer confirmations")


CurrentGuard = Annotated[Actor, Depends(current_guard)]
CurrentSupervisor = Annotated[Actor, Depends(current_supervisor)]
DoorWriter = Annotated[Actor, Depends(door_writer)]
IntercomKey = Annotated[Actor, Depends(intercom_key)]

router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS)


# ---- auth -----------------------------------------------------------------------------------


@router.post("/auth/login", tags=["auth"], responses={401: {}, 429: {}})
def login(body: m.LoginIn, auth: AuthDep) -> m.LoginOut:
    """Badge + PIN for a session token. Five wrong PINs for a badge within 5 minutes lock it
    for the rest of those 5 minutes (429), across restarts."""
    return m.LoginOut.model_validate(auth.login(body.badge, body.pin))


@router.post("/auth/logout", tags=["auth"], status_code=204)
def logout(request: Request, guard: CurrentGuard, auth: AuthDep) -> None:
    """End this session on the server: the token stops working at once."""
    auth.logout(request.state.token)


@router.post("/guards/{badge}/revoke-sessions", tags=["auth"], responses={404: {}})
def revoke_sessions(
    badge: str, supervisor: CurrentSupervisor, book: LogbookDep, auth: AuthDep
) -> dict[str, int]:
    """Supervisor only: end every session of one guard (a lost tablet, a guard who left)."""
    if book.accounts.get_guard(badge) is None:
        raise errors.NotFound(f"no guard {badge}", loc=("path", "badge"))
    return {"revoked": auth.revoke_guard(badge)}


# ---- visits ---------------------------------------------------------------------------------


@router.post(
    "/visits", status_code=201, response_model=m.Visit, tags=["visits"], responses={422: {}}
)
async def register_visit(body: m.VisitIn, guard: CurrentGuard, book: LogbookDep) -> JSONResponse:
    """Register a visitor. The ID number is kept only masked and as a keyed HMAC."""
    return reply(await book.visits.register(body.model_dump(), by=guard), 201)


@router.get("/visits", tags=["visits"])
def list_visits(
    guard: CurrentGuard,
    book: LogbookDep,
    on_site: bool | None = None,
    date: Annotated[m.Day | None, Query(description="the site's local date")] = None,
    unit: str | None = None,
    q: Annotated[
        str | None,
        Query(
            max_length=100,
            description="text in the name, phone, plate or unit, across days (never the ID"
            " number); case-insensitive; the newest 200",
        ),
    ] = None,
) -> m.VisitList:
    """The register, newest first; `q` finds a past visitor across days within retention."""
    visits = book.visits.list(on_site=on_site, day=date, unit=unit, text=(q or "").strip())
    return m.VisitList(visits=[m.Visit.model_validate(v) for v in visits])


@router.get("/visits/{visit_id}", tags=["visits"], responses={404: {}})
def get_visit(visit_id: str, guard: CurrentGuard, book: LogbookDep) -> m.Visit:
    return m.Visit.model_validate(book.visits.get(visit_id))


@router.post(
    "/visits/{visit_id}/checkout",
    response_model=m.Visit,
    tags=["visits"],
    responses={404: {}, 409: {}},
)
async def check_out(visit_id: str, guard: CurrentGuard, book: LogbookDep) -> JSONResponse:
    """The visitor has left; 409 if already checked out."""
    return reply(await book.visits.check_out(visit_id, by=guard))


@router.post(
    "/visits/{visit_id}/undo-checkout",
    response_model=m.Visit,
    tags=["visits"],
    responses={404: {}, 409: {}},
)
async def undo_check_out(visit_id: str, guard: CurrentGuard, book: LogbookDep) -> JSONResponse:
    """Take back a check-out made by mistake: the visitor is on site again. Logged as a
    `visit.checkout_undone` event (the check-out stays in the logbook). 409 if the visit is
    not checked out (`not_checked_out`) or the check-out is over 2 minutes old
    (`undo_too_late`)."""
    return reply(await book.visits.undo_check_out(visit_id, by=guard))


@router.post(
    "/visits/{visit_id}/override",
    response_model=m.Visit,
    tags=["visits"],
    responses={404: {}, 409: {}},
)
async def override(
    visit_id: str, body: m.OverrideIn, guard: CurrentGuard, book: LogbookDep
) -> JSONResponse:
    """Let the visitor in without the resident's answer; logs a `guard_override` door event."""
    return reply(await book.visits.override(visit_id, body.reason, by=guard))


# ---- door events ----------------------------------------------------------------------------


@router.post(
    "/door-events", status_code=201, response_model=m.DoorEvent, tags=["door"], responses={422: {}}
)
async def record_door_event(
    body: m.DoorEventIn, actor: DoorWriter, book: LogbookDep
) -> JSONResponse:
    """A door event from a guard or a `door` key; `guard_override` needs a reason. `forced`,
    and `held_open` for at least the post's limit (or without `duration_s`), also open a
    security incident; its id is the answer's `incident_id`."""
    if body.kind == m.DoorKind.guard_override and not body.reason:
        raise errors.InvalidValue("a guard override needs a reason", loc=("body", "reason"))
    return reply(await book.doors.record(body.model_dump(), by=actor), 201)


# ---- incidents ------------------------------------------------------------------------------


@router.post(
    "/incidents",
    status_code=201,
    response_model=m.Incident,
    tags=["incidents"],
    responses={422: {}},
)
async def open_incident(body: m.IncidentIn, guard: CurrentGuard, book: LogbookDep) -> JSONResponse:
    """Report an incident or complaint; `due_at` follows the severity's deadline."""
    return reply(await book.incidents.open(body.model_dump(), by=guard), 201)


@router.get("/incidents", tags=["incidents"])
def list_incidents(
    guard: CurrentGuard,
    book: LogbookDep,
    status: m.IncidentStatus | None = None,
    severity: m.Severity | None = None,
    overdue: bool | None = None,
) -> m.IncidentList:
    incidents = book.incidents.list(status=status, severity=severity, overdue=overdue)
    return m.IncidentList(incidents=[m.Incident.model_validate(i) for i in incidents])


@router.get("/incidents/{incident_id}", tags=["incidents"], responses={404: {}})
def get_incident(incident_id: str, guard: CurrentGuard, book: LogbookDep) -> m.Incident:
    """One incident with its entries and its evidence photos, oldest first."""
    incident = book.incidents.get(incident_id)
    return m.Incident.model_validate({**incident, "photos": book.photos.of_incident(incident_id)})


@router.post(
    "/incidents/{incident_id}/entries",
    status_code=201,
    response_model=m.IncidentEntry,
    tags=["incidents"],
    responses={404: {}},
)
async def add_entry(
    incident_id: str, body: m.EntryIn, guard: CurrentGuard, book: LogbookDep
) -> JSONResponse:
    return reply(await book.incidents.add_entry(incident_id, body.kind, body.text, guard), 201)


@router.post(
    "/incidents/{incident_id}/status",
    response_model=m.Incident,
    tags=["incidents"],
    responses={403: {}, 404: {}, 409: {}},
)
async def set_status(
    incident_id: str, body: m.StatusIn, guard: CurrentGuard, book: LogbookDep
) -> JSONResponse:
    """One step along open -> acknowledged -> in_progress -> resolved -> closed; 409 for
    another. Closing follows the manuals' grading: a post supervisor closes a `minor` incident,
    and `medium` and `severe` ones are closed from the hub (403 here); a complaint closes only
    after a follow_up and a summary entry."""
    return reply(await book.incidents.set_status(incident_id, body.status, guard))


# ---- shift, logbook, sync -------------------------------------------------------------------


@router.post("/shift-notes", status_code=201, response_model=m.ShiftNote, tags=["logbook"])
async def add_shift_note(
    body: m.ShiftNoteIn, guard: CurrentGuard, book: LogbookDep
) -> JSONResponse:
    return reply(await book.shift_notes.add(body.text, guard), 201)


@router.get("/shift/handover", tags=["logbook"], responses={404: {}})
def get_handover(guard: CurrentGuard, book: LogbookDep) -> m.Handover:
    """The last shift handover: the outgoing guard's note, the visitors on site and the
    incidents not closed at that moment (overdue ones marked), and whether the incoming guard
    has acknowledged it; 404 before the first handover."""
    handover = book.shift_notes.last()
    if handover is None:
        raise errors.NotFound("no handover yet")
    return m.Handover.model_validate(handover)


@router.post("/shift/handover/acknowledge", tags=["logbook"], responses={409: {}})
async def acknowledge_handover(guard: CurrentGuard, book: LogbookDep) -> m.Handover:
    """The incoming guard has read the last handover: logs `shift.acknowledged` naming the
    guard and answers the handover; 409 if it was already acknowledged or there is none."""
    return m.Handover.model_validate(await book.shift_notes.acknowledge(guard))


@router.get("/logbook", tags=["logbook"])
def get_logbook(
    guard: CurrentGuard,
    book: LogbookDep,
    date: Annotated[m.Day | None, Query(description="the site's local date; default today")] = None,
) -> m.Logbook:
    """The day's events in seq order, one line each."""
    entries = book.logbook(date or book.today())
    return m.Logbook(entries=[m.LogbookEntry.model_validate(e) for e in entries])


@router.get("/units", tags=["visits"])
def suggest_units(
    guard: CurrentGuard, book: LogbookDep, q: Annotated[str, Query(max_length=64)] = ""
) -> dict[str, list[dict[str, Any]]]:
    """Units whose name starts with `q` or whose residents contain it (for suggestions)."""
    return {"units": book.directory.list(q)}


@router.post(
    "/intercom/answers",
    response_model=m.Visit,
    tags=["intercom"],
    responses={403: {}, 404: {}, 409: {}},
)
async def answer(body: m.AnswerIn, key: IntercomKey, book: LogbookDep) -> JSONResponse:
    """The resident's answer, from the intercom gateway (intercom key only)."""
    return reply(await book.visits.answer_confirmation(body.request_id, body.decision, key))


@router.post(
    "/intercom/preapprovals",
    status_code=201,
    response_model=m.Preapproval,
    tags=["intercom"],
    responses={403: {}, 422: {}},
)
async def preapprove(body: m.PreapprovalIn, key: IntercomKey, book: LogbookDep) -> JSONResponse:
    """A resident expects a visitor (intercom key only): the answer holds a code, given once,
    that a guard enters at registration (`preapproval_code`) to get `approved` at once without
    ringing the flat. One use; valid from `valid_from` (default now) until `valid_until`."""
    return reply(await book.preapprovals.create(body.model_dump(), key), 201)


@router.get("/sync", tags=["sync"])
def sync_state(request: Request, guard: CurrentGuard, book: LogbookDep) -> m.SyncState:
    """What waits to reach the hub and whether the post is connected."""
    sync = getattr(request.app.state, "sync", None)
    connected = bool(sync and sync.is_connected)
    return m.SyncState.model_validate(book.sync.state(connected=connected))


@router.get("/settings", tags=["sync"])
def post_settings(guard: CurrentGuard, book: LogbookDep) -> m.PostSettings:
    """What this post uses now: each value from the hub's settings for the site once they are
    delivered, else the post's own `serve` flags and `GUARDPOST_` variables; and the versions
    of what the hub sends that it has applied (0: none yet)."""
    with sqlite.snapshot(book.reader):  # a version never beside the values of the one before
        return m.PostSettings.model_validate(
            {**book.settings.effective(), "versions": book.settings.versions()}
        )
