"""The post's patrol API (CONTRACT section 9): a guard's scan of a checkpoint's code, the
day's rounds with what was scanned and their state, and the panic button. The checkpoints and
rounds come from the hub (`edge/logbook/patrols.py`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from schemas import models as m
from service.http import COMMON_ERRORS

from .api import CurrentGuard, LogbookDep, reply

router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS)


@router.post(
    "/patrols/scans", status_code=201, tags=["patrols"], responses={403: {}, 404: {}, 422: {}}
)
async def scan_checkpoint(body: m.ScanIn, guard: CurrentGuard, book: LogbookDep) -> m.ScanOut:
    """A guard scanned (or typed) a checkpoint's code, at `at` (default now): a `patrol.scan`
    event. It counts for the round whose current run still lacks the checkpoint (`round`,
    null if none), `on_time` if within that run's window. 404 for a code no checkpoint has."""
    return m.ScanOut.model_validate(await book.patrols.scan(body.code, body.at, guard))


@router.get("/patrols", tags=["patrols"])
def day_rounds(
    guard: CurrentGuard,
    book: LogbookDep,
    date: Annotated[m.Day | None, Query(description="the site's local date; default today")] = None,
) -> m.PatrolDay:
    """Each run of each round that starts on the site's local date, in time order: its
    checkpoints in order with when each was scanned, `due_at` (its window's end) and its state:
    `done` (all scanned in the window), `open` (window not closed yet), `late` (all scanned,
    some after the window) or `missed`."""
    return m.PatrolDay.model_validate({"rounds": book.patrols.day(date or book.today())})


@router.post(
    "/panic", status_code=201, response_model=m.Incident, tags=["incidents"], responses={403: {}}
)
async def call_for_help(body: m.PanicIn, guard: CurrentGuard, book: LogbookDep) -> JSONResponse:
    """The panic button: opens a `security` incident graded `severe` at once, due by the
    severe deadline, titled with the guard's name and the last checkpoint they scanned in the
    last 12 hours (`Panic: Chan Tai Man, last checkpoint Roof`; that checkpoint is also its
    `location`, and `title_code` is `panic`). The hub notifies every severe escalation rule of
    the site as soon as the incident arrives. The `note` is personal data (`pii`)."""
    incident_id = await book.panic.call_for_help(body.note or None, guard)
    return reply(book.incidents.get(incident_id), 201)
