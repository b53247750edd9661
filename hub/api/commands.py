"""Supervisors act on incidents from the hub (CONTRACT section 8): each request becomes a
command for the incident's post, answered 202 at once; `GET /commands/{id}` says what became of
it (pending until the post's answer arrives, then applied or rejected with the reason)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from schemas import models as m
from service import errors

from ..actions import visible_incident
from ..commands import send_command
from .deps import CurrentUser, StoreDep

router = APIRouter(tags=["incidents"])
ANSWERS: dict[int | str, dict[str, object]] = {202: {}, 403: {}, 404: {}, 422: {}}


class CommandAccepted(m.Record):
    command_id: str
    state: str


def accepted(command: dict[str, object]) -> JSONResponse:
    body = CommandAccepted(command_id=str(command["command_id"]), state=str(command["state"]))
    return JSONResponse(body.model_dump(), status_code=202)


@router.post(
    "/incidents/{incident_id}/status",
    status_code=202,
    response_model=CommandAccepted,
    responses=ANSWERS,
)
def move_incident(
    incident_id: str, body: m.StatusCommandIn, request: Request, user: CurrentUser, store: StoreDep
) -> JSONResponse:
    """Ask the incident's post to move it to `status` (the next step of its lifecycle). Closing
    follows the manuals' grading: `minor` by any hub supervisor or manager, `medium` by a
    supervisor or manager of its site, `severe` by a manager only (403 otherwise). The post
    carries it out as its own `incident.status` event, or rejects it (a step the lifecycle
    forbids, a complaint without its follow-up and summary) with a `command.rejected` event."""
    incident = visible_incident(store, user, incident_id)
    return accepted(send_command(request, incident, user, "status", body.status.value, body.reason))


@router.post(
    "/incidents/{incident_id}/assign",
    status_code=202,
    response_model=CommandAccepted,
    responses=ANSWERS,
)
def assign_incident(
    incident_id: str, body: m.AssignIn, request: Request, user: CurrentUser, store: StoreDep
) -> JSONResponse:
    """Assign the incident to a hub supervisor or manager of its site (422 for anyone else);
    `GET /incidents?assignee=me` lists one's own."""
    incident = visible_incident(store, user, incident_id)
    return accepted(send_command(request, incident, user, "assign", body.assignee))


@router.post(
    "/incidents/{incident_id}/severity",
    status_code=202,
    response_model=CommandAccepted,
    responses=ANSWERS,
)
def regrade_incident(
    incident_id: str, body: m.SeverityIn, request: Request, user: CurrentUser, store: StoreDep
) -> JSONResponse:
    """Give the incident another grade, with the reason; at the post its `due_at` becomes its
    opening time plus the new grade's deadline (rejected once it is resolved)."""
    incident = visible_incident(store, user, incident_id)
    return accepted(
        send_command(request, incident, user, "severity", body.severity.value, body.reason)
    )


@router.get("/commands/{command_id}", response_model=m.CommandState, responses={404: {}})
def get_command(command_id: str, user: CurrentUser, store: StoreDep) -> m.CommandState:
    """What became of a command: `pending` until its post answers, then `applied`, or
    `rejected` with the post's `reason`."""
    command = store.get_command(command_id)
    if command is None or not user.may_see(str(command["site"])):
        raise errors.NotFound(f"no command {command_id}", loc=("path", "command_id"))
    return m.CommandState.model_validate({k: v for k, v in command.items() if k != "site"})
