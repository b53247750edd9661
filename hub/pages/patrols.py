"""Patrol rounds on the dashboard: a site's runs of the day with each checkpoint's scan time
(anyone who may see the site), the printable sheet of the checkpoints' QR codes, and the
manager's page that adds, renames and removes checkpoints and rounds (`hub/patrols.py` does
the work, as for the API). Times are in the site's time zone."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from schemas import models as m
from schemas.ids import format_time, utc_now
from service import errors
from service.pages import PageAnswer
from service.pages_text import day_field

from .. import patrols, rounds
from .base import HubPage, form_errors

router = APIRouter(include_in_schema=False)
ROUND_FIELDS = ("name", "every_minutes", "window_minutes", "from", "to")


class SitePage(HubPage):
    """A page of one site: times shown in the site's zone (`site_zone`), not the hub's."""

    site_zone: ZoneInfo | None = None

    def zone(self) -> ZoneInfo:
        return self.site_zone or super().zone()


def _site_page(request: Request, site: str, *, manager: bool = False) -> SitePage:
    """The page, if the user may see (or, `manager`, change) the site and the hub knows it;
    the 404 page otherwise (PageAnswer), and the 403 page for a non-manager's change."""
    page = SitePage.of_user(request)
    if not page.me.may_see(site) or page.store.get_site(site) is None:
        raise PageAnswer(page.not_found())
    if manager and page.me.role != "manager":
        message = page._("Only a manager may change this.")
        raise PageAnswer(page.render("message.html", 403, message=message))
    page.site_zone = rounds.site_zone(page.store, site)
    return page


@router.get("/sites/{site}/patrols", response_class=HTMLResponse)
def patrols_page(site: str, request: Request) -> Response:
    """The site's runs of a day (default today; today only those started), each with its
    state and every checkpoint's scan time."""
    page = _site_page(request, site)
    today = rounds.site_today(page.store, site)
    day, date_field = day_field(page._, request.query_params.get("date"), today)
    runs = rounds.runs(page.store, site, day)
    if day == today:
        now = format_time(utc_now())
        runs = [run for run in runs if run["starts_at"] <= now]
    counts = {state: sum(1 for r in runs if r["state"] == state) for state in rounds.STATES}
    return page.render(
        "patrols.html",
        site=site,
        runs=list(reversed(runs)),  # the latest first: what a supervisor looks for
        counts=counts,
        states=run_states(page),
        **date_field,
    )


def run_states(page: HubPage) -> dict[str, str]:
    _ = page._
    return {"done": _("Done"), "late": _("Late"), "missed": _("Missed"), "open": _("In progress")}


@router.get("/sites/{site}/checkpoints.pdf")
async def checkpoints_sheet(site: str, request: Request) -> Response:
    """The printable sheet of the site's checkpoint codes, for a logged-in user of the site."""
    page = _site_page(request, site)
    body = await run_in_threadpool(patrols.checkpoints_pdf, page.store, page.me, site)
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="checkpoints-{site}.pdf"'},
    )


def _setup_page(page: SitePage, site: str, status_code: int = 200, **context: Any) -> Response:
    checkpoints = page.store.checkpoints(site)
    names = {c["id"]: c["name"] for c in checkpoints}
    return page.render(
        "patrols_setup.html",
        status_code,
        site=site,
        checkpoints=checkpoints,
        rounds=[
            {**r, "walk": [names.get(i, i) for i in r["checkpoints"]]}
            for r in page.store.rounds(site)
        ],
        **{"values": {}, "errors": {}, "form": "", "problem": "", **context},
    )


def _problems(page: HubPage, exc: ValidationError | errors.GuardpostError) -> dict[str, str]:
    """Messages next to the fields; ours for the fields a manager most often gets wrong."""
    _ = page._
    known = {
        "checkpoints": _("Choose at least one checkpoint of this site."),
        "window_minutes": _("The window must not be longer than the interval."),
        "id": _("A round walks past this checkpoint: change or remove the round first."),
    }
    return {field: known.get(field, text) for field, text in form_errors(page, exc, known).items()}


def _setup_of(request: Request, site: str, kind: str) -> SitePage:
    """A manager's change of the site's `kind` (checkpoints or rounds); 404 for another."""
    page = _site_page(request, site, manager=True)
    if kind not in ("checkpoints", "rounds"):
        raise PageAnswer(page.not_found())
    return page


@router.get("/sites/{site}/patrols/setup", response_class=HTMLResponse)
def setup_page(site: str, request: Request) -> Response:
    """Managers: the site's checkpoints and rounds, to add, rename or remove."""
    return _setup_page(_site_page(request, site, manager=True), site)


@router.post("/sites/{site}/patrols/{kind}", response_class=HTMLResponse)
async def add_to_setup(site: str, kind: str, request: Request) -> Response:
    """Add a checkpoint (`name`, `location`) or a round (its fields, `checkpoints` in order)."""
    page = _setup_of(request, site, kind)
    form = await page.checked_form()
    typed = {k: v.strip() for k, v in form.items() if k != "csrf"}
    try:
        if kind == "checkpoints":
            patrols.add_checkpoint(
                request, page.store, page.me, site, m.CheckpointIn.model_validate(typed)
            )
        else:
            body = (await request.body()).decode("utf-8", errors="replace")
            walk = [c for c in parse_qs(body).get("checkpoints", []) if c]  # in order
            given = {k: typed[k] for k in ROUND_FIELDS if typed.get(k)}
            for number in ("every_minutes", "window_minutes"):
                if given.get(number, "").isdigit():
                    given[number] = int(given[number])  # type: ignore[assignment]
            patrols.add_round(
                request,
                page.store,
                page.me,
                site,
                m.RoundIn.model_validate({**given, "checkpoints": walk}),
            )
    except (ValidationError, errors.GuardpostError) as exc:
        return _setup_page(page, site, 422, values=typed, errors=_problems(page, exc), form=kind)
    return RedirectResponse(f"/sites/{site}/patrols/setup", status_code=303)


@router.post("/sites/{site}/patrols/{kind}/{record_id}", response_class=HTMLResponse)
async def rename_in_setup(site: str, kind: str, record_id: str, request: Request) -> Response:
    """Rename a checkpoint (and its location) or a round, keeping the rest."""
    page = _setup_of(request, site, kind)
    form = await page.checked_form()
    typed = {k: form.get(k, "").strip() for k in ("name", "location")}
    try:
        if kind == "checkpoints":
            body = m.CheckpointIn.model_validate(typed)
            patrols.change_checkpoint(request, page.store, page.me, site, record_id, body)
        else:
            now = next((r for r in page.store.rounds(site) if r["id"] == record_id), None)
            if now is None:
                return page.not_found()
            renamed = m.RoundIn.model_validate({**now, "name": typed["name"]})
            patrols.change_round(request, page.store, page.me, site, record_id, renamed)
    except errors.NotFound:
        return page.not_found()
    except (ValidationError, errors.GuardpostError) as exc:
        problem = next(iter(_problems(page, exc).values()), "")
        return _setup_page(page, site, 422, problem=problem, form=record_id)
    return RedirectResponse(f"/sites/{site}/patrols/setup", status_code=303)


@router.post("/sites/{site}/patrols/{kind}/{record_id}/remove", response_class=HTMLResponse)
async def remove_in_setup(site: str, kind: str, record_id: str, request: Request) -> Response:
    """Remove a checkpoint (not while a round walks past it: 409) or a round."""
    page = _setup_of(request, site, kind)
    await page.checked_form()
    remove = patrols.remove_checkpoint if kind == "checkpoints" else patrols.remove_round
    try:
        remove(request, page.store, page.me, site, record_id)
    except errors.NotFound:
        return page.not_found()
    except errors.Conflict as exc:
        problem = _problems(page, exc)["id"]
        return _setup_page(page, site, 409, problem=problem, form=record_id)
    return RedirectResponse(f"/sites/{site}/patrols/setup", status_code=303)
