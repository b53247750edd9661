"""The guard's tablet pages (CONTRACT section 7): server-rendered Jinja2 in en, zh-Hant and
zh-Hans, cookie sessions with CSRF tokens, forms named after the API's fields. Each page calls
the same logbook and auth as the API."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs

import anyio
import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, ValidationError

from schemas import models as m
from schemas.ids import FIRST_DAY, LAST_DAY, parse_day, parse_month, parse_time
from service import errors
from service.i18n import (
    BABEL_LOCALES,
    LANG_CODES,
    LANG_COOKIE,
    choose_language,
    gettext_for,
    language_links,
    local_time,
    translations,
)

from .logbook import Actor, Logbook

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "gp_session"
SUSPICIOUS = "suspicious_visitor"  # the incident category of the manuals' procedure

router = APIRouter(include_in_schema=False)
M = TypeVar("M", bound=BaseModel)


@cache
def environment(lang: str, templates: Path = HERE / "templates") -> Environment:
    """One Jinja2 environment per language (and template folder: the hub has its own), its
    `_()` bound to that language's catalogue, which the edge and the hub share."""
    env = Environment(
        loader=FileSystemLoader(templates),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


def csrf_token(session_token: str) -> str:
    """A per-session CSRF token derived from the session, so nothing more is stored."""
    return hmac.new(session_token.encode(), b"csrf", hashlib.sha256).hexdigest()[:32]


class Page:
    """What every page needs: the language, the guard (if logged in) and the CSRF token."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.book: Logbook = request.app.state.book
        settings = request.app.state.settings
        self.lang = choose_language(request, settings.language)
        self._ = gettext_for(self.lang)
        self.token = request.cookies.get(SESSION_COOKIE, "")
        self.guard: Actor | None = None
        if self.token:
            try:
                actor = request.app.state.auth.resolve(self.token)
                self.guard = actor if actor.kind == "guard" else None
            except errors.Unauthorized:
                self.guard = None

    @classmethod
    def of_guard(cls, request: Request) -> Page:
        """The page of a logged-in guard; LoginRequired (a redirect to /login) otherwise."""
        page = cls(request)
        if page.guard is None:
            raise LoginRequired()
        return page

    @property
    def actor(self) -> Actor:
        if self.guard is None:
            raise LoginRequired()
        return self.guard

    def validate(self, model: type[M], form: dict[str, Any]) -> tuple[M | None, dict[str, str]]:
        """Check a posted form's filled-in fields against their API model: the model, or a
        message in the page's language for each field that is wrong."""
        body = {k: v for k, v in form.items() if k != "csrf" and str(v).strip()}
        try:
            return model.model_validate(body), {}
        except ValidationError as exc:
            messages: dict[str, str] = {}
            for error in exc.errors():
                name = str(error["loc"][-1]) if error["loc"] else ""
                messages.setdefault(name, field_message(self._, dict(error)))
            return None, messages

    async def checked_form(self) -> dict[str, str]:
        """The posted form of a changing request; CsrfRefused (403) without its token."""
        form = await self.form()
        if not self.csrf_ok(form):
            raise CsrfRefused(self)
        return form

    @property
    def csrf(self) -> str:
        return csrf_token(self.token) if self.token else ""

    def labels(self) -> dict[str, Any]:
        return labels_for(self._)

    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        env = environment(self.lang)
        zone = self.book.zone
        locale = BABEL_LOCALES[self.lang]
        env.filters["localtime"] = lambda text: local_time(
            parse_time(text).astimezone(zone), locale
        )
        state = sync_state(self.request) if self.guard else None
        html = env.get_template(template).render(
            lang=self.lang,
            languages=language_links(self.request),
            site=self.book.site,
            device=self.book.device,
            guard=self.guard,
            csrf=self.csrf,
            sync=state,
            # an answer with an error is not live: a refresh would wipe the message and input
            live_version=live_version(state) if state and status_code < 400 else "",
            idle_s=int(self.request.app.state.settings.idle_minutes * 60),
            **self.labels(),
            **context,
        )
        response = HTMLResponse(html, status_code=status_code)
        if self.request.query_params.get("lang") in LANG_CODES:
            response.set_cookie(
                LANG_COOKIE, self.lang, max_age=365 * 86400, samesite="lax", httponly=True
            )
        return response

    async def form(self) -> dict[str, str]:
        """The posted form (urlencoded), one value per field."""
        body = (await self.request.body()).decode("utf-8", errors="replace")
        return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}

    def csrf_ok(self, form: dict[str, str]) -> bool:
        return bool(self.token) and hmac.compare_digest(form.get("csrf", ""), self.csrf)

    def refuse(self) -> HTMLResponse:
        """403 for a changing form without its CSRF token (an old tab, or another site)."""
        return self.render(
            "message.html",
            403,
            message=self._("This form has expired. Go back, reload the page and try again."),
        )


def labels_for(_: Any) -> dict[str, Any]:
    """Every code a page shows (categories, statuses, kinds) in the language of `_`."""
    return {
        "categories": {
            "guest": _("Guest"),
            "contractor": _("Contractor"),
            "delivery": _("Delivery"),
            "repair": _("Repair"),
            "other": _("Other"),
        },
        "severities": {"minor": _("Minor"), "medium": _("Medium"), "severe": _("Severe")},
        "confirmations": {
            "not_required": _("Not needed"),
            "pending": _("Waiting"),
            "approved": _("Approved"),
            "denied": _("Denied"),
            "no_answer": _("No answer"),
            "overridden": _("Let in by guard"),
        },
        "statuses": {
            "open": _("Open"),
            "acknowledged": _("Acknowledged"),
            "in_progress": _("In progress"),
            "resolved": _("Resolved"),
            "closed": _("Closed"),
        },
        "incident_categories": {
            "complaint": _("Complaint"),
            "emergency": _("Emergency"),
            SUSPICIOUS: _("Suspicious visitor"),
            "watch_list": _("Watch list"),
            "security": _("Security"),
            "dispute": _("Dispute between neighbours"),
            "equipment": _("Equipment and facilities"),
            "other": _("Other"),
        },
        "channels": {
            "in_person": _("In person"),
            "phone": _("Phone"),
            "letter": _("Letter"),
            "intercom": _("Intercom"),
            "patrol": _("Patrol"),
            "other": _("Other"),
        },
        "entry_kinds": {
            "note": _("Note"),
            "action": _("Action taken"),
            "escalation": _("Escalated"),
            "follow_up": _("Follow-up visit"),
            "summary": _("Summary"),
            "police_called": _("Police called"),
        },
        "door_kinds": {
            "guard_override": _("Opened by the guard"),
            "forced": _("Door forced"),
            "held_open": _("Door held open"),
            "pin": _("Opened with PIN"),
            "intercom_release": _("Opened by intercom"),
            "closed": _("Closed"),
        },
    }


def sync_state(request: Request) -> dict[str, Any]:
    sync = request.app.state.sync
    book: Logbook = request.app.state.book
    # the status bar also says when nothing can be saved, or the clock looks wrong
    return {
        **book.sync.state(connected=bool(sync and sync.is_connected)),
        "disk_full": book.disk_full,
        "clock": book.retention.clock_problem(),
    }


def live_version(state: dict[str, Any]) -> str:
    """What a live page compares to know it is out of date: a new event, an ack, a reconnect."""
    return f"{state['last_seq']}:{state['acked_seq']}:{int(state['connected'])}"


def line_text(_: Any, labels: dict[str, Any], line: dict[str, Any]) -> str:
    """A logbook line in the page's language (the API's `summary` is English); what people
    typed (titles, notes, reasons) stays as they typed it. A line this version cannot word
    (an event from a newer post) keeps its summary."""
    try:
        return _worded_line(_, labels, line)
    except (KeyError, TypeError):
        return str(line["summary"])


def _worded_line(_: Any, labels: dict[str, Any], line: dict[str, Any]) -> str:
    kind, data, pii = line["type"], line["data"], line.get("pii") or {}
    name = pii.get("visitor_name") or _("(name removed)")
    if kind == "visit.registered":
        text = _("Visitor %(name)s registered for %(unit)s (%(category)s, party of %(n)s)") % {
            "name": name,
            "unit": data["unit"],
            "n": data["party_size"],
            "category": labels["categories"].get(data["category"], data["category"]),
        }
        if data.get("preapproval_id"):
            text += " · " + _("Pre-approved by the resident")
        if data.get("flag") == "watch_list":
            text += " · " + _("Watch list")
        return str(text)
    if kind == "visit.confirmation":
        status = data["confirmation"]["status"]
        text = _("Resident confirmation: %(status)s") % {
            "status": labels["confirmations"].get(status, status)
        }
        return str(text + (f" ({data['reason']})" if data.get("reason") else ""))
    if kind == "visit.checked_out":
        return str(_("Visitor checked out"))
    if kind == "door.event":
        text = _("Door %(door)s: %(kind)s") % {
            "door": data["door"],
            "kind": labels["door_kinds"].get(data["kind"], data["kind"]),
        }
        return str(text + (f" ({data['reason']})" if data.get("reason") else ""))
    if kind == "incident.opened":
        return str(
            _("Incident opened [%(severity)s] %(category)s: %(title)s")
            % {
                "severity": labels["severities"].get(data["severity"], data["severity"]),
                "category": labels["incident_categories"].get(data["category"], data["category"]),
                "title": data["title"],
            }
        )
    if kind == "incident.entry":
        return str(
            _("Incident %(kind)s: %(text)s")
            % {"kind": labels["entry_kinds"].get(data["kind"], data["kind"]), "text": data["text"]}
        )
    if kind == "incident.status":
        return str(
            _("Incident status: %(before)s → %(after)s")
            % {
                "before": labels["statuses"].get(data["previous"], data["previous"]),
                "after": labels["statuses"].get(data["status"], data["status"]),
            }
        )
    if kind == "shift.note":
        return str(_("Shift note: %(text)s") % {"text": data["text"]})
    if kind == "pii.purged":
        return str(
            _("Personal data of %(n)s visits removed after retention") % {"n": data["visits"]}
        )
    if kind == "preapproval.created":
        return str(_("Resident pre-approved a visitor for %(unit)s") % {"unit": data["unit"]})
    if kind == "watchlist.applied":
        return str(
            _("Watch list version %(version)s in force (%(n)s entries)")
            % {"version": data["version"], "n": data["entries"]}
        )
    return str(line["summary"])


def worded(page: Page, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    labels = page.labels()
    return [{**line, "summary": line_text(page._, labels, line)} for line in lines]


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


def to_login() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


class LoginRequired(Exception):
    """A page that needs a guard's login was asked for without one: 303 to /login."""


class CsrfRefused(Exception):
    """A changing form came without its CSRF token: 403, as a page (edge or hub)."""

    def __init__(self, page: Any) -> None:
        super().__init__(page.request.url.path)
        self.page = page


class PageAnswer(Exception):
    """Stop here and answer with this page (a refusal found before the handler's own work)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


# Paths that answer JSON (or files) on purpose; every other path is a page and answers pages.
NOT_PAGES = ("/api/", "/static/")
NOT_PAGE_PATHS = {
    "/healthz",
    "/live",
    "/visits/lookup",
    "/openapi.json",
    "/docs",
    "/redoc",
    "/docs/oauth2-redirect",
}


def is_page_path(path: str) -> bool:
    """Whether a path is one of the pages (or a page that does not exist)."""
    return not path.startswith(NOT_PAGES) and path not in NOT_PAGE_PATHS


def error_message(_: Any, status: int) -> str:
    """What a page says for an error it did not foresee, by status, in the page's language."""
    if status in (404, 405):
        return str(_("There is nothing here."))
    if status == 403:
        return str(_("You may not do this."))
    if status == 409:
        return str(_("This has changed in the meantime. Reload the page and try again."))
    if status == 413:
        return str(_("This is too long."))
    if status == 429:
        return str(_("Too many attempts. Wait a few minutes and try again."))
    if status >= 500:
        return str(_("Something went wrong. Try again, and tell your supervisor if it recurs."))
    return str(_("Please check this."))


def plain_error_page(request: Request, status: int) -> HTMLResponse:
    """The error page when even the page machinery fails (a broken database): no template,
    no session, only the language."""
    lang = choose_language(request, getattr(request.app.state.settings, "language", "en"))
    text = error_message(gettext_for(lang), status)
    return HTMLResponse(
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{text}</title></head><body><main><p>{text}</p>"
        '<p><a href="/">&#8592;</a></p></main></body></html>',
        status_code=status,
    )


def error_page(
    request: Request, status: int, page_of: Callable[[Request], Any], headers: dict[str, str]
) -> Response:
    """The message page for an error on a page path, in the page's language."""
    if status == 401:
        return to_login()
    try:
        page = page_of(request)
        response: Response = page.render(
            "message.html", status, message=error_message(page._, status)
        )
    except Exception:
        log.exception("error page failed", extra={"path": request.url.path})
        response = plain_error_page(request, status)
    response.headers.update(headers)
    return response


def install_page_handlers(app: Any, page_of: Callable[[Request], Any] | None = None) -> None:
    """Turn the pages' refusals into what a browser should get, and make every error on a
    page path a page: the JSON error handlers installed before (the API's, named errors,
    validation, 404/405, the unexpected 500 that is logged with its traceback) still decide
    the status, and still answer the API; a page gets the message page of `page_of` (the
    edge's `Page` by default, the hub's `HubPage`) in its language instead of their JSON."""
    make_page = page_of or Page

    def as_page(handler: Callable[[Request, Exception], Any]) -> Callable[..., Any]:
        async def answer(request: Request, exc: Exception) -> Response:
            response = handler(request, exc)
            if hasattr(response, "__await__"):
                response = await response
            if not isinstance(response, Response):  # a websocket's handler answers nothing
                return response  # type: ignore[no-any-return]
            kind = response.headers.get("content-type", "")
            if not is_page_path(request.url.path) or not kind.startswith("application/json"):
                return response
            kept = {
                k: v
                for k, v in response.headers.items()
                if k.lower() in ("allow", "retry-after", "www-authenticate")
            }
            return error_page(request, response.status_code, make_page, kept)

        return answer

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.error("unexpected error", exc_info=exc, extra={"path": request.url.path})
        return JSONResponse(
            {"detail": [{"loc": [], "msg": "internal error", "type": "internal"}]}, status_code=500
        )

    handlers = dict(app.exception_handlers)
    handlers.setdefault(Exception, unexpected)
    for kind, handler in handlers.items():
        app.add_exception_handler(kind, as_page(handler))

    async def login_required(request: Request, exc: Exception) -> Response:
        return to_login()

    async def csrf_refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, CsrfRefused)
        response: Response = exc.page.refuse()
        return response

    async def page_answer(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageAnswer)
        return exc.response

    async def disk_full(request: Request, exc: Exception) -> Response:
        """507 when the disk is full: the API's error shape, a page for a page."""
        assert isinstance(exc, errors.DiskFull)
        if request.url.path.startswith("/api/"):
            return JSONResponse(
                {"detail": [{"loc": list(exc.loc), "msg": exc.msg, "type": exc.type}]},
                status_code=exc.status,
            )
        page = Page(request)
        return page.render(
            "message.html",
            exc.status,
            message=page._("The disk is full: nothing was saved. Tell your supervisor."),
        )

    app.add_exception_handler(errors.DiskFull, disk_full)
    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(CsrfRefused, csrf_refused)
    app.add_exception_handler(PageAnswer, page_answer)


PREAPPROVAL_PROBLEMS: dict[str, Any] = {  # the logbook's reasons, in the page's language
    "unknown code": lambda _: _("There is no such code."),
    "the code is for another unit": lambda _: _("This code is for another unit."),
    "the code was already used": lambda _: _("This code was already used."),
    "the code has expired": lambda _: _("This code has expired."),
    "the code is not valid yet": lambda _: _("This code is not valid yet."),
}


def field_message(_: Any, error: dict[str, Any]) -> str:
    """A validation error in plain words, in the page's language."""
    kind = error.get("type", "")
    if kind in ("missing", "string_too_short", "blank"):
        return str(_("Please fill this in."))
    if kind == "string_too_long":
        return str(_("This is too long."))
    if kind in ("enum", "literal_error"):
        return str(_("Please choose one of the options."))
    if kind.startswith("int") or kind.startswith("greater") or kind.startswith("less"):
        return str(_("Please enter a number from 1 to 50."))
    if kind == "unknown_unit":
        return str(_("There is no such unit."))
    if kind == "preapproval_refused":
        problem = PREAPPROVAL_PROBLEMS.get(error.get("msg", ""))
        return str(problem(_)) if problem else str(_("Please check this."))
    return str(_("Please check this."))


def asked_day(_: Any, text: str | None, default: date) -> tuple[date, str | None]:
    """The date a page was asked for (`?date=`, empty: `default`), or `default` and the
    message to show next to the date field when it is not a date from 2000-01-01 to
    2100-12-31."""
    if not text:
        return default, None
    try:
        return parse_day(text), None
    except ValueError:
        return default, str(
            _("Enter a date from %(first)s to %(last)s.")
            % {"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()}
        )


def asked_month(_: Any, text: str | None, default: date) -> tuple[date, str | None]:
    """As `asked_day`, for `?month=YYYY-MM` (the first day of the month)."""
    if not text:
        return default, None
    try:
        return parse_month(text), None
    except ValueError:
        return default, str(
            _("Enter a month from %(first)s to %(last)s.")
            % {"first": f"{FIRST_DAY:%Y-%m}", "last": f"{LAST_DAY:%Y-%m}"}
        )


# ---- pages ----------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    return Page(request).render("login.html", badge="", error=None)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    page = Page(request)
    form = await page.form()
    badge = form.get("badge", "").strip()[:64]  # what is kept in the form: never more
    login_in, field_errors = page.validate(m.LoginIn, form)
    if login_in is None:
        return page.render("login.html", 422, badge=badge, error=next(iter(field_errors.values())))
    try:  # argon2 and the writer: in a thread, so the tablet's other requests go on meanwhile
        result = await anyio.to_thread.run_sync(
            request.app.state.auth.login, login_in.badge, login_in.pin
        )
    except errors.TooManyAttempts:
        return page.render(
            "login.html", 429, badge=badge, error=page._("Too many wrong PINs. Wait 5 minutes.")
        )
    except errors.Unauthorized:
        return page.render("login.html", 401, badge=badge, error=page._("Wrong badge or PIN."))
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        result["token"],
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=int(request.app.state.settings.session_hours * 3600),
    )
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    page = Page.of_guard(request)
    await page.checked_form()
    request.app.state.auth.logout(page.token)
    response = to_login()
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    page = Page.of_guard(request)
    incidents = [i for i in page.book.incidents.list() if i["status"] != "closed"]
    order = {"severe": 0, "medium": 1, "minor": 2}
    incidents.sort(key=lambda i: (not i["overdue"], order[i["severity"]], i["opened_at"]))
    on_site = page.book.visits.list(on_site=True)
    waiting = [v for v in on_site if v["confirmation"]["status"] in ("pending", "no_answer")]
    return page.render("home.html", on_site=on_site, waiting=waiting, incidents=incidents)


@router.get("/visits", response_class=HTMLResponse)
def register_page(
    request: Request, date: str | None = None, unit: str | None = None, on_site: str | None = None
) -> Response:
    """The visitors' register of a day (today by default), filtered by unit or on site."""
    page = Page.of_guard(request)
    day, date_error = asked_day(page._, date, page.book.today())
    unit = (unit or "").strip()[:32]
    visits = page.book.visits.list(
        day=day, unit=unit or None, on_site=True if on_site == "true" else None
    )
    return page.render(
        "visits.html",
        422 if date_error else 200,
        visits=visits,
        day=day.isoformat(),
        typed_date=date if date_error else day.isoformat(),
        date_error=date_error,
        unit=unit,
        on_site=on_site == "true",
        units=page.book.directory.list(limit=500),
    )


LIVE_CHECK_S = 1.0  # how often a stream looks for a change
LIVE_HEARTBEAT_S = 15.0  # a comment line, so proxies and Wi-Fi keep the stream open
LIVE_STREAM_S = 120.0  # then the browser reconnects by itself: no stream outlives a shutdown


def live_answer(request: Request, version: Callable[[], str | None]) -> Response:
    """`/live` for live pages, on the tablet and at the hub: `version()` is what the page
    compares (None once the session has ended). An EventSource (`Accept: text/event-stream`)
    gets server-sent events, one `data: {"version": ...}` each time it changes and `event:
    logout` when the session ends; any other request gets the version once, as JSON."""
    now = version()
    if now is None or "text/event-stream" not in request.headers.get("accept", ""):
        return JSONResponse({"version": now}, status_code=401 if now is None else 200)

    async def events() -> AsyncIterator[str]:
        yield "retry: 2000\n\n"
        sent, quiet_since, started = "", time.monotonic(), time.monotonic()
        while time.monotonic() - started < LIVE_STREAM_S:
            now = await anyio.to_thread.run_sync(version)
            if now is None:
                yield "event: logout\ndata: {}\n\n"
                return
            if now != sent:
                sent, quiet_since = now, time.monotonic()
                yield f"data: {json.dumps({'version': now})}\n\n"
            elif time.monotonic() - quiet_since > LIVE_HEARTBEAT_S:
                quiet_since = time.monotonic()
                yield ": still here\n\n"
            if await request.is_disconnected():
                return
            await anyio.sleep(LIVE_CHECK_S)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get("/live")
def live(request: Request) -> Response:
    """For live pages: the logbook's version; the page reloads its content when it moves."""

    def version() -> str | None:
        return live_version(sync_state(request)) if Page(request).guard else None

    return live_answer(request, version)


@router.get("/visits/new", response_class=HTMLResponse)
def new_visit_page(request: Request) -> Response:
    page = Page.of_guard(request)
    return page.render(
        "visit_new.html",
        values={"party_size": "1"},
        errors={},
        units=page.book.directory.list(limit=500),
    )


@router.post("/visits/new", response_class=HTMLResponse)
async def register_visit(request: Request) -> Response:
    page = Page.of_guard(request)
    form = await page.checked_form()
    # party_size is strict on the API (no "3"); a form only has text, so it is read here
    party_size = form.get("party_size", "").strip()
    is_number = party_size.isascii() and party_size.isdigit() and len(party_size) <= 6  # not ³
    visit_in, field_errors = page.validate(
        m.VisitIn, {**form, "party_size": int(party_size) if is_number else party_size}
    )
    if visit_in is not None:
        try:
            visit = await page.book.visits.register(visit_in.model_dump(), by=page.actor)
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
    return RedirectResponse(f"/visits/{visit['id']}", status_code=303)


@router.get("/visits/{visit_id}", response_class=HTMLResponse)
def visit_page(visit_id: str, request: Request) -> Response:
    page = Page.of_guard(request)
    try:
        visit = page.book.visits.get(visit_id)
    except errors.NotFound:
        return page.render("message.html", 404, message=page._("There is no such visit."))
    return page.render("visit.html", **visit_context(page.book, visit))


@router.post("/visits/{visit_id}/checkout")
async def check_out(visit_id: str, request: Request) -> Response:
    page = Page.of_guard(request)
    await page.checked_form()
    try:
        await page.book.visits.check_out(visit_id, by=page.actor)
    except (errors.AlreadyCheckedOut, errors.NotFound):
        pass  # already out (another tablet, a double tap): the page shows it as it is
    back = request.headers.get("referer", "/")
    return RedirectResponse(
        "/" if f"/visits/{visit_id}" not in back else f"/visits/{visit_id}", status_code=303
    )


@router.post("/visits/{visit_id}/override", response_class=HTMLResponse)
async def override(visit_id: str, request: Request) -> Response:
    page = Page.of_guard(request)
    form = await page.checked_form()
    try:
        visit = page.book.visits.get(visit_id)
    except errors.NotFound:
        return page.render("message.html", 404, message=page._("There is no such visit."))
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
        await page.book.visits.override(visit_id, body.reason, by=page.actor)
    except errors.ConfirmationClosed:
        pass
    return RedirectResponse(f"/visits/{visit_id}", status_code=303)


# ---- incidents, door events, logbook, shift ------------------------------------------------


@router.get("/incidents/new", response_class=HTMLResponse)
def new_incident_page(request: Request) -> Response:
    page = Page.of_guard(request)
    return page.render("incident_new.html", values={}, errors={})


@router.post("/incidents/new", response_class=HTMLResponse)
async def open_incident(request: Request) -> Response:
    page = Page.of_guard(request)
    form = await page.checked_form()
    incident_in, field_errors = page.validate(m.IncidentIn, form)
    if incident_in is not None:
        try:
            incident = await page.book.incidents.open(incident_in.model_dump(), by=page.actor)
        except errors.UnknownVisit:
            field_errors["visit_id"] = page._("There is no such visit.")
    if field_errors:
        return page.render("incident_new.html", 422, values=form, errors=field_errors)
    return RedirectResponse(f"/incidents/{incident['id']}", status_code=303)


@router.get("/incidents", response_class=HTMLResponse)
def incidents_page(request: Request, status: str | None = None) -> Response:
    page = Page.of_guard(request)
    wanted = (
        status if status in ("open", "acknowledged", "in_progress", "resolved", "closed") else None
    )
    return page.render("incidents.html", incidents=page.book.incidents.list(status=wanted))


def _incident_page(
    page: Page, incident_id: str, status_code: int = 200, **context: Any
) -> Response:
    try:
        incident = page.book.incidents.get(incident_id)
    except errors.NotFound:
        return page.render("message.html", 404, message=page._("There is no such incident."))
    if incident["category"] == SUSPICIOUS:
        kinds = {e["kind"] for e in incident["entries"]}
        context["steps"] = [  # the manuals: call the flat, call for backup
            ("call_flat", "action", page._("Call the flat on the intercom"), "action" in kinds),
            (
                "call_backup",
                "escalation",
                page._("Call the supervisor for backup"),
                "escalation" in kinds,
            ),
        ]
    flow = ["open", "acknowledged", "in_progress", "resolved", "closed"]
    position = flow.index(incident["status"])
    next_status = flow[position + 1] if position + 1 < len(flow) else None
    if next_status == "closed" and page.guard is not None and page.guard.role != "supervisor":
        next_status = None  # only a supervisor closes
    return page.render(
        "incident.html", status_code, incident=incident, next_status=next_status, **context
    )


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(incident_id: str, request: Request) -> Response:
    page = Page.of_guard(request)
    return _incident_page(page, incident_id)


@router.post("/incidents/{incident_id}/entries", response_class=HTMLResponse)
async def add_entry(incident_id: str, request: Request) -> Response:
    page = Page.of_guard(request)
    form = await page.checked_form()
    try:
        entry = m.EntryIn.model_validate({"kind": form.get("kind"), "text": form.get("text")})
    except ValidationError:
        return _incident_page(
            page,
            incident_id,
            422,
            text=form.get("text", ""),
            text_error=page._("Please fill this in."),
        )
    try:
        await page.book.incidents.add_entry(incident_id, entry.kind, entry.text, page.actor)
    except errors.NotFound:
        return page.render("message.html", 404, message=page._("There is no such incident."))
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)


@router.post("/incidents/{incident_id}/status", response_class=HTMLResponse)
async def set_status(incident_id: str, request: Request) -> Response:
    page = Page.of_guard(request)
    form = await page.checked_form()
    status = form.get("status", "")
    try:
        await page.book.incidents.set_status(incident_id, status, page.actor)
    except errors.Forbidden:
        return _incident_page(
            page, incident_id, 403, status_error=page._("Only a supervisor may close an incident.")
        )
    except errors.TransitionForbidden:
        message = page._("Not now: a complaint closes after a follow-up visit and a summary.")
        return _incident_page(page, incident_id, 409, status_error=message)
    except errors.NotFound:
        return page.render("message.html", 404, message=page._("There is no such incident."))
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)


@router.get("/door-events/new", response_class=HTMLResponse)
def new_door_event_page(request: Request) -> Response:
    page = Page.of_guard(request)
    return page.render("door_new.html", values={}, errors={})


@router.post("/door-events/new", response_class=HTMLResponse)
async def record_door_event(request: Request) -> Response:
    page = Page.of_guard(request)
    form = await page.checked_form()
    door, field_errors = page.validate(m.DoorEventIn, form)
    if door is not None and door.kind == m.DoorKind.guard_override and not door.reason:
        field_errors["reason"] = page._("A door opened by the guard needs a reason.")
    if door is not None and not field_errors:
        try:
            await page.book.doors.record(door.model_dump(), by=page.actor)
        except errors.UnknownVisit:
            field_errors["visit_id"] = page._("There is no such visit.")
    if door is None or field_errors:
        return page.render("door_new.html", 422, values=form, errors=field_errors)
    return RedirectResponse("/logbook", status_code=303)


@router.get("/logbook", response_class=HTMLResponse)
def logbook_page(request: Request, date: str | None = None) -> Response:
    page = Page.of_guard(request)
    day, date_error = asked_day(page._, date, page.book.today())
    return page.render(
        "logbook.html",
        422 if date_error else 200,
        day=day.isoformat(),
        typed_date=date if date_error else day.isoformat(),
        date_error=date_error,
        entries=worded(page, page.book.logbook(day, raw=True)),
    )


@router.get("/shift", response_class=HTMLResponse)
def shift_page(request: Request) -> Response:
    page = Page.of_guard(request)
    entries = worded(page, page.book.shift_notes.since_last_handover(raw=True))
    return page.render("shift.html", entries=entries)


@router.post("/shift", response_class=HTMLResponse)
async def hand_over(request: Request) -> Response:
    page = Page.of_guard(request)
    form = await page.checked_form()
    try:
        note = m.ShiftNoteIn.model_validate({"text": form.get("text", "")})
    except ValidationError:
        entries = worded(page, page.book.shift_notes.since_last_handover(raw=True))
        return page.render(
            "shift.html",
            422,
            entries=entries,
            text=form.get("text", ""),
            text_error=page._("Please fill this in."),
        )
    await page.book.shift_notes.add(note.text, page.actor)
    return RedirectResponse("/shift", status_code=303)


@router.post("/visits/{visit_id}/suspicious")
async def mark_suspicious(visit_id: str, request: Request) -> Response:
    """The manuals' procedure: hold the visitor in the lobby, open a linked incident whose
    page lists the steps (call the flat, call the supervisor for backup) to tick off."""
    page = Page.of_guard(request)
    await page.checked_form()
    try:
        visit = page.book.visits.get(visit_id)
    except errors.NotFound:
        return page.render("message.html", 404, message=page._("There is no such visit."))
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
        by=page.actor,
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
