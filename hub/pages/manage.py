"""What a manager sets: who is notified of incidents (rules), and whom the posts watch for
(the watch list)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from schemas import models as m
from service import errors
from service.pages import PageAnswer

from ..actions import (
    RuleIn,
    check_watchlist_access,
    notify_rule,
    read_watchlist,
    unwatch,
    watch_for,
)
from .base import HubPage, form_errors

router = APIRouter(include_in_schema=False)


def _rules_page(page: HubPage, status_code: int = 200, **context: Any) -> Response:
    sites = sorted({d["site"] for d in page.store.list_devices(None)})
    return page.render(
        "rules.html",
        status_code,
        rules=page.store.rules(),
        sites=sites,
        **{"form": {"events": ["opened", "overdue"]}, "problems": {}, **context},
    )


@router.get("/rules", response_class=HTMLResponse)
def rules_page(request: Request) -> Response:
    """Managers: who is told when an incident opens or goes overdue, by severity and site."""
    return _rules_page(HubPage.of_manager(request))


@router.post("/rules", response_class=HTMLResponse)
async def add_rule(request: Request) -> Response:
    page = HubPage.of_manager(request)
    form = await page.checked_form()
    body = (await request.body()).decode("utf-8", errors="replace")
    events = parse_qs(body).get("events", [])  # checkboxes: one value each
    typed = {
        "severity": form.get("severity", ""),
        "site": form.get("site", ""),
        "url": form.get("url", "").strip(),
        "events": events,
    }
    try:
        notify_rule(
            page.store, page.me, RuleIn.model_validate({**typed, "site": typed["site"] or None})
        )
    except (ValidationError, errors.GuardpostError) as exc:
        problems = form_errors(
            page,
            exc,
            {
                "url": page._("Not an address Apprise knows, e.g. mailto://user:pw@example.com"),
                "events": page._("Choose when: when it opens, when it is overdue, or both."),
            },
        )
        return _rules_page(page, 422, form=typed, problems=problems)
    return RedirectResponse("/rules", status_code=303)


@router.post("/rules/{rule_id}/remove", response_class=HTMLResponse)
async def remove_rule(rule_id: str, request: Request) -> Response:
    page = HubPage.of_manager(request)
    await page.checked_form()
    if not page.store.remove_rule(rule_id):
        return page.not_found()
    return RedirectResponse("/rules", status_code=303)


def _watchlist_page(page: HubPage, status_code: int = 200, **context: Any) -> Response:
    return page.render(
        "watchlist.html",
        status_code,
        watchlist=read_watchlist(page.store, page.me),
        **{"form": {"severity": "severe"}, "problems": {}, **context},
    )


def _watchlist_user(request: Request) -> HubPage:
    """The page of someone the watch list's rule (`actions.check_watchlist_access`) lets in; a
    403 page for anyone else, as the API's 403."""
    page = HubPage.of_user(request)
    try:
        check_watchlist_access(page.me)
    except errors.Forbidden:
        raise PageAnswer(
            page.render("message.html", 403, message=page._("Only a manager may change this."))
        ) from None
    return page


@router.get("/watchlist", response_class=HTMLResponse)
def watchlist_page(request: Request) -> Response:
    """Managers: the company's watch list (names, masked ID numbers), sent to every post."""
    return _watchlist_page(_watchlist_user(request))


@router.post("/watchlist", response_class=HTMLResponse)
async def add_watch_entry(request: Request) -> Response:
    page = _watchlist_user(request)
    form = await page.checked_form()
    typed = {k: form.get(k, "").strip() for k in ("id_number", "name", "reason", "severity")}
    try:
        watch_for(
            request,
            page.store,
            page.me,
            m.WatchlistEntryIn.model_validate({k: v for k, v in typed.items() if v}),
        )
    except (ValidationError, errors.GuardpostError) as exc:
        problems = form_errors(
            page, exc, {"id_number": page._("Give an ID number, a name, or both.")}
        )
        typed["id_number"] = ""  # an ID number is never sent back to the browser
        return _watchlist_page(page, 422, form=typed, problems=problems)
    return RedirectResponse("/watchlist", status_code=303)


@router.post("/watchlist/{entry_id}/remove", response_class=HTMLResponse)
async def remove_watch_entry(entry_id: str, request: Request) -> Response:
    page = _watchlist_user(request)
    await page.checked_form()
    try:
        unwatch(request, page.store, page.me, entry_id)
    except errors.NotFound:
        return page.not_found()
    return RedirectResponse("/watchlist", status_code=303)
