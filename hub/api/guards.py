"""The guards the hub manages (CONTRACT section 8): a manager adds and disables them, a
supervisor may read those of their own sites. Each change is a new roster version for each of
the guard's sites, which every post of the site applies (`edge/logbook/roster.py`); the PIN
leaves the hub only as its argon2 hash, and no answer here carries either."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from schemas import models as m
from service import errors
from service.passwords import hash_secret

from ..actions import send_down
from ..auth import User
from ..store import Store
from .deps import CurrentUser, StoreDep

router = APIRouter()


def check_guards_change(user: User) -> None:
    if user.role != "manager":
        raise errors.Forbidden("only a manager may add or disable guards")


def add_guard(request: Request, store: Store, user: User, body: m.GuardIn) -> dict[str, Any]:
    """Add a guard (manager): 422 for a site the hub does not know, 409 for a badge it does."""
    check_guards_change(user)
    sites = sorted(set(body.sites))
    known = set(store.site_names())
    for site in body.sites:
        if site not in known:
            raise errors.InvalidValue(f"no site {site}", loc=("body", "sites"))
    if store.has_guard(body.badge):
        raise errors.Conflict(f"badge {body.badge} exists", loc=("body", "badge"))
    guard = {
        "badge": body.badge,
        "name": body.name,
        "role": body.role.value,
        "pin_hash": hash_secret(body.pin),
        "sites": sites,
    }
    if not store.add_guard(guard, user.ref):
        raise errors.Conflict(f"badge {body.badge} exists", loc=("body", "badge"))
    store.audit(user.username, "add guard", f"{body.badge} ({guard['role']}) at {','.join(sites)}")
    send_down(request)
    return {k: guard[k] for k in ("badge", "name", "role", "sites")} | {"disabled": False}


def disable_guard(
    request: Request, store: Store, user: User, badge: str, body: m.GuardDisableIn
) -> dict[str, Any]:
    """Disable a guard at every post of their sites (manager); 404 for an unknown badge."""
    check_guards_change(user)
    sites = store.disable_guard(badge, body.reason)
    if sites is None:
        raise errors.NotFound(f"no guard {badge}", loc=("path", "badge"))
    store.audit(user.username, "disable guard", f"{badge}: {body.reason or ''}")
    send_down(request)
    return next(g for g in store.list_guards(None, None) if g["badge"] == badge)


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
    if user.role not in ("manager", "supervisor"):
        raise errors.Forbidden("only a manager or supervisor may see the guards")
    if site is not None and not user.may_see(site):
        raise errors.NotFound(f"no site {site}", loc=("query", "site"))
    return m.GuardList.model_validate({"guards": store.list_guards(user.sites, site)})
