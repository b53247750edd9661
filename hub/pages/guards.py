"""The guards' page (CONTRACT section 8): the guards the hub manages, a manager's form to add
one (to the posts of the sites ticked) and a `disable` button on each guard's row, with the
API's actions (`hub.actions`). A supervisor reads the guards of their own sites; an auditor
gets 403, as in the API. No PIN or hash is ever on the page."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from schemas import models as m
from service import errors

from ..actions import add_guard, check_guards_change, disable_guard, read_guards
from .base import HubPage
from .fleet import fleet_labels

router = APIRouter(include_in_schema=False)


def _guards_page(page: HubPage, status_code: int = 200, **context: Any) -> Response:
    site = page.request.query_params.get("site") or None
    return page.render(
        "guards.html",
        status_code,
        **fleet_labels(page),
        guards=read_guards(page.store, page.me, site),
        all_sites=page.store.site_names() if page.me.role == "manager" else [],
        **{"values": {"role": "guard", "sites": []}, "errors": {}, **context},
    )


@router.get("/guards", response_class=HTMLResponse)
def guards_page(request: Request) -> Response:
    """The guards (`?site=` for one site's): badge, name, role, sites, disabled."""
    return _guards_page(HubPage.of_user(request))


@router.post("/guards", response_class=HTMLResponse)
async def add_guard_form(request: Request) -> Response:
    page = HubPage.of_user(request)
    form = await page.checked_form()
    check_guards_change(page.me)
    body = (await request.body()).decode("utf-8", errors="replace")
    typed: dict[str, Any] = {k: form.get(k, "").strip() for k in ("badge", "name", "role")}
    typed["sites"] = parse_qs(body).get("sites", [])  # checkboxes: one value each
    _ = page._
    try:
        guard = m.GuardIn.model_validate({**typed, "pin": form.get("pin", "").strip()})
        await run_in_threadpool(add_guard, request, page.store, page.me, guard)
    except (ValidationError, errors.InvalidValue, errors.Conflict) as exc:
        known = {
            "pin": _("A PIN is 4 to 8 digits."),
            "sites": _("Tick at least one site."),
            "badge": _("There is a guard with this badge already.")
            if isinstance(exc, errors.Conflict)
            else None,
        }
        problems = page.messages(exc) if isinstance(exc, ValidationError) else {}
        if isinstance(exc, errors.GuardpostError):
            problems[str(exc.loc[-1])] = ""
        problems = {k: known.get(k) or v or _("Please check this.") for k, v in problems.items()}
        return _guards_page(page, 422, values=typed, errors=problems)  # never the PIN back
    return RedirectResponse("/guards", status_code=303)


@router.post("/guards/{badge}/disable", response_class=HTMLResponse)
async def disable_guard_form(badge: str, request: Request) -> Response:
    """At every post of the guard's sites their sessions end and their login is refused."""
    page = HubPage.of_user(request)
    form = await page.checked_form()
    check_guards_change(page.me)
    reason = form.get("reason", "").strip()
    try:
        body = m.GuardDisableIn.model_validate({"reason": reason or None})
    except ValidationError as exc:
        message = page.messages(exc).get("reason") or page._("Please check this.")
        problem = {f"reason-{badge}": message}
        return _guards_page(page, 422, errors=problem, reasons={badge: reason})
    disable_guard(request, page.store, page.me, badge, body)
    return RedirectResponse("/guards", status_code=303)
