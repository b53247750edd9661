"""The post's patrol API (CONTRACT section 9): a guard's scan of a checkpoint's code, and the
day's rounds with what was scanned and their state. The checkpoints and rounds come from the
hub (`edge/logbook/patrols.py`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from schemas import models as m
from service.http import COMMON_ERRORS

from .api import CurrentGuard, LogbookDep

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
