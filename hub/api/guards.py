"""The guards the hub manages (CONTRACT section 8): a manager adds and disables them, a
supervisor may read those of their own sites. Each change is a new roster version for each of
the guard's sites, which every post of the site applies (`edge/logbook/roster.py`); the PIN
leaves the hub only as its argon2 hash, and no answer here carries either."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from schemas import models as m

from ..actions import add_guard, disable_guard, read_guards
from .deps import CurrentUser, StoreDep

router = APIRouter()


@router.post("/guards", status_code=201, tags=["guards"], responses={403: {}, 409: {}, 422: {}})
async def post_guard(
    body: m.GuardIn, request: Request, user: CurrentUser, store: StoreDep
) -> m.Guard:
    """Manager only: add a guard of one or more sites. The PIN is kept only as its argon2
    hash, which is all that goes to the posts of those sites; the guard can log in at each
    of them once the new roster version arrives, offline too."""
    answer = await run_in_threadpool(add_guard, request, store, user, body)
    return m.Guard.model_validate(answer)


@router.post("/guards/{badge}/disable", tags=["guards"], responses={403: {}, 404: {}, 422: {}})
def post_guard_disable(
    badge: str, body: m.GuardDisableIn, request: Request, user: CurrentUser, store: StoreDep
) -> m.Guard:
    """Manager only: at every post of the guard's sites their sessions end and login is
    refused (401), within 10 s of the new roster version's delivery."""
    return m.Guard.model_validate(disable_guard(request, store, user, badge, body))


@router.get("/guards", tags=["guards"], responses={403: {}, 404: {}})
def get_guards(user: CurrentUser, store: StoreDep, site: str | None = None) -> m.GuardList:
    """The guards (of `site`, if given), never a PIN or its hash: a manager sees all, a
    supervisor those of their own sites (another site is 404), an auditor none (403)."""
    return m.GuardList.model_validate({"guards": read_guards(store, user, site)})
