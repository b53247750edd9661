"""The supervisors' dashboard (CONTRACT section 7, hub): every site on one screen, a site's
people, register, incidents and logbook, and one incident's timeline with the supervisor's
entry form. Server-rendered Jinja2 in zh-Hant, zh-Hans and en with the edge's catalogue;
cookie sessions with CSRF tokens; a site the user may not see is 404, as in the API. Live:
the pages follow `/live` like the tablet's (edge/static/live.js)."""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from edge import errors
from edge.pages import (
    BABEL_LOCALES,
    LANG_CODES,
    LANG_COOKIE,
    CsrfRefused,
    LoginRequired,
    PageAnswer,
    asked_day,
    asked_month,
    choose_language,
    csrf_token,
    environment,
    field_message,
    gettext_for,
    labels_for,
    language_links,
    line_text,
    live_answer,
    local_time,
    to_login,
)
from schemas import models as m
from schemas.ids import FIRST_DAY, LAST_DAY, parse_time, utc_now

from . import reports
from .actions import (
    HubLoginIn,
    RuleIn,
    add_supervisor_entry,
    audit_read,
    check_watchlist_access,
    notify_rule,
    read_watchlist,
    unwatch,
    visible_incident,
    watch_for,
)
from .auth import User
from .store import Store

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "gp_hub_session"
SEVERITY_ORDER = {"severe": 0, "medium": 1, "minor": 2}

router = APIRouter(include_in_schema=False)


class HubPage:
    """What every dashboard page needs: the language, the user (if logged in), CSRF."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.store: Store = request.app.state.store
        self.lang = choose_language(request, request.app.state.settings.language)
        self._ = gettext_for(self.lang)
        self.token = request.cookies.get(SESSION_COOKIE, "")
        self.user: User | None = None
        if self.token:
            try:
                self.user = request.app.state.auth.resolve(self.token)
            except errors.Unauthorized:
                self.user = None

    @classmethod
    def of_user(cls, request: Request) -> HubPage:
        page = cls(request)
        if page.user is None:
            raise LoginRequired()
        return page

    @classmethod
    def of_manager(cls, request: Request) -> HubPage:
        """The page of a logged-in manager; a 403 page (PageAnswer) for anyone else."""
        page = cls.of_user(request)
        if page.me.role != "manager":
            raise PageAnswer(page.render("message.html", 403, message=page._(
                "Only a manager may change this.")))
        return page

    @property
    def me(self) -> User:
        if self.user is None:
            raise LoginRequired()
        return self.user

    @property
    def csrf(self) -> str:
        return csrf_token(self.token) if self.token else ""

    async def form(self) -> dict[str, str]:
        body = (await self.request.body()).decode("utf-8", errors="replace")
        return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}

    async def checked_form(self) -> dict[str, str]:
        form = await self.form()
        if not self.token or not hmac.compare_digest(form.get("csrf", ""), self.csrf):
            raise CsrfRefused(self)
        return form

    def refuse(self) -> HTMLResponse:
        return self.render("message.html", 403, message=self._(
            "This form has expired. Go back, reload the page and try again."))

    def not_found(self) -> HTMLResponse:
        return self.render("message.html", 404, message=self._("There is nothing here."))

    @property
    def labels(self) -> dict[str, dict[str, str]]:
        _ = self._
        return {**labels_for(_), "roles": {"manager": _("Manager"), "supervisor": _("Supervisor"),
                                           "auditor": _("Auditor")}}

    def render_text(self, template: str, **context: Any) -> str:
        env = environment(self.lang, HERE / "templates")
        zone, locale = self.store.zone, BABEL_LOCALES[self.lang]
        env.filters["localtime"] = lambda text: local_time(
            parse_time(text).astimezone(zone), locale) if text else "—"
        return env.get_template(template).render(
            lang=self.lang, languages=language_links(self.request), user=self.user,
            csrf=self.csrf,
            **{"live_version": self.store.live_version(self.user.sites) if self.user else "",
               **self.labels, **context})

    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        if status_code >= 400:  # not live: a refresh would wipe the message and what was typed
            context["live_version"] = ""
        response = HTMLResponse(self.render_text(template, **context), status_code=status_code)
        if self.request.query_params.get("lang") in LANG_CODES:
            response.set_cookie(LANG_COOKIE, self.lang, max_age=365 * 86400, samesite="lax",
                                httponly=True)
        return response


def by_urgency(incidents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Overdue first, then severe, medium, minor, then the oldest."""
    return sorted(incidents, key=lambda i: (not i["overdue"], SEVERITY_ORDER[i["severity"]],
                                            i["opened_at"]))


def open_incidents(store: Store, sites: list[str] | None) -> list[dict[str, Any]]:
    return by_urgency([i for i in store.list_incidents(sites) if i["status"] != "closed"])


# ---- pages ------------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    return HubPage(request).render("login.html", username="", error=None)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    page = HubPage(request)
    form = await page.form()
    username = form.get("username", "").strip()[:64]  # what is kept in the form: never more
    try:
        login_in = HubLoginIn.model_validate(
            {k: v for k, v in form.items() if k in ("username", "password") and v.strip()})
    except ValidationError as exc:
        problems = _form_errors(page, exc, {})
        return page.render("login.html", 422, username=username,
                           error=next(iter(problems.values())))
    try:  # argon2 and the write: in a thread, so the dashboard's other requests go on
        result = await anyio.to_thread.run_sync(request.app.state.auth.login,
                                                login_in.username, login_in.password)
    except errors.TooManyAttempts:
        return page.render("login.html", 429, username=username,
                           error=page._("Too many wrong passwords. Wait 5 minutes."))
    except errors.Unauthorized:
        return page.render("login.html", 401, username=username,
                           error=page._("Wrong username or password."))
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(SESSION_COOKIE, result["token"], httponly=True, samesite="lax",
                        secure=request.url.scheme == "https",
                        max_age=int(request.app.state.settings.session_hours * 3600))
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    page = HubPage.of_user(request)
    await page.checked_form()
    request.app.state.auth.logout(page.token)
    response = to_login()
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/live")
def live(request: Request) -> Response:
    """The dashboard's version, as server-sent events or once as JSON (`live_answer`)."""
    def version() -> str | None:
        user = HubPage(request).user  # each time: a revoked session ends the stream
        return request.app.state.store.live_version(user.sites) if user else None
    return live_answer(request, version)


@router.get("/", response_class=HTMLResponse)
def overview(request: Request) -> Response:
    """Every site the user may see: its posts' health, who is in, what is open."""
    page = HubPage.of_user(request)
    sites = page.me.sites
    devices = page.store.list_devices(sites)
    on_site = page.store.list_visits(sites, on_site=True)
    incidents = open_incidents(page.store, sites)
    names = sorted({d["site"] for d in devices} | set(sites or []))
    overview: list[dict[str, Any]] = [{
        "site": name,
        "devices": [d for d in devices if d["site"] == name],
        "on_site": sum(1 for v in on_site if v["site"] == name),
        "open": sum(1 for i in incidents if i["site"] == name),
        "urgent": sum(1 for i in incidents if i["site"] == name
                      and (i["overdue"] or i["severity"] == "severe")),
        "tampered": any(d["tampered"] for d in devices if d["site"] == name),
    } for name in names]
    overview.sort(key=lambda s: (not s["tampered"], -int(s["urgent"]), str(s["site"])))
    return page.render("overview.html", sites=overview,
                       urgent=[i for i in incidents if i["overdue"] or i["severity"] == "severe"])


@router.get("/sites/{site}", response_class=HTMLResponse)
def site_page(site: str, request: Request) -> Response:
    page = HubPage.of_user(request)
    known = {d["site"] for d in page.store.list_devices(None)}
    if not page.me.may_see(site) or site not in known:
        return page.not_found()
    today = utc_now().astimezone(page.store.zone).date()
    typed = request.query_params.get("date")
    day, date_error = asked_day(page._, typed, today)
    audit_read(page.store, page.me, "site page", site=site, date=day)
    return page.render(
        "site.html", 422 if date_error else 200, site=site, day=day.isoformat(),
        typed_date=typed if date_error else day.isoformat(), date_error=date_error,
        devices=page.store.list_devices([site]),
        on_site=page.store.list_visits([site], on_site=True),
        register=page.store.list_visits([site], day=day),
        incidents=open_incidents(page.store, [site]),
        logbook=[{**line, "summary": line_text(page._, page.labels, line)}
                 for line in page.store.logbook(site, day, raw=True)])


@router.get("/incidents", response_class=HTMLResponse)
def incidents_page(request: Request) -> Response:
    page = HubPage.of_user(request)
    query = request.query_params
    site = query.get("site") or None
    if site and not page.me.may_see(site):
        return page.not_found()
    status = query.get("status") if query.get("status") in (
        "open", "acknowledged", "in_progress", "resolved", "closed") else None
    severity = query.get("severity") if query.get("severity") in SEVERITY_ORDER else None
    overdue = True if query.get("overdue") == "true" else None
    incidents = by_urgency(page.store.list_incidents(
        [site] if site else page.me.sites, status=status, severity=severity, overdue=overdue))
    audit_read(page.store, page.me, "incidents page", site=site, status=status,
               severity=severity, overdue=overdue)
    sites = sorted({d["site"] for d in page.store.list_devices(page.me.sites)})
    return page.render("incidents.html", incidents=incidents, sites=sites,
                       chosen={"site": site or "", "status": status or "",
                               "severity": severity or "", "overdue": bool(overdue)})


def _incident_page(page: HubPage, incident_id: str, status_code: int = 200,
                   **context: Any) -> Response:
    try:
        incident = visible_incident(page.store, page.me, incident_id)
    except errors.NotFound:
        return page.not_found()
    return page.render("incident.html", status_code, incident=incident, **context)


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(incident_id: str, request: Request) -> Response:
    page = HubPage.of_user(request)
    answer = _incident_page(page, incident_id)
    if answer.status_code == 200:
        audit_read(page.store, page.me, "incident page", id=incident_id)
    return answer


@router.post("/incidents/{incident_id}/entries", response_class=HTMLResponse)
async def add_entry(incident_id: str, request: Request) -> Response:
    """The supervisor's entry: stored here at once and delivered down to the post."""
    page = HubPage.of_user(request)
    form = await page.checked_form()
    try:
        incident = visible_incident(page.store, page.me, incident_id)
    except errors.NotFound:
        return page.not_found()
    try:
        entry = m.EntryIn.model_validate({"kind": form.get("kind"), "text": form.get("text")})
    except ValidationError:
        return _incident_page(page, incident_id, 422, text=form.get("text", ""),
                              text_error=page._("Please fill this in."))
    try:
        add_supervisor_entry(request, incident, page.me, entry.kind.value, entry.text)
    except errors.Forbidden:
        return _incident_page(page, incident_id, 403,
                              text_error=page._("An auditor may read but not write."))
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request) -> Response:
    """Logbook search across the user's sites and dates; Chinese words work."""
    page = HubPage.of_user(request)
    query = request.query_params
    text = (query.get("q") or "").strip()[:100]
    site = query.get("site") or None
    if site and not page.me.may_see(site):
        return page.not_found()
    since, until = query.get("from") or "", query.get("to") or ""
    first, since_error = asked_day(page._, since, FIRST_DAY)
    last, until_error = asked_day(page._, until, LAST_DAY)
    problems = {k: v for k, v in (("from", since_error), ("to", until_error)) if v}
    results: list[dict[str, Any]] = []
    if text and not problems:
        audit_read(page.store, page.me, "search", q=text, site=site)
        start = page.store.day_bounds(first)[0] if since else None
        end = page.store.day_bounds(last)[1] if until else None
        results = page.store.search([site] if site else page.me.sites, text, start, end)
    sites = sorted({d["site"] for d in page.store.list_devices(page.me.sites)})
    return page.render("search.html", 422 if problems else 200, q=text, site=site or "",
                       since=since, until=until, problems=problems, sites=sites,
                       results=results)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request) -> Response:
    page = HubPage.of_user(request)
    if page.me.role != "manager":
        return page.render("message.html", 403,
                           message=page._("Only a manager may read the audit log."))
    return page.render("audit.html", entries=page.store.audit_log())


# ---- what a manager sets: who is notified, whom the posts watch for ----------------------------


def _form_errors(page: HubPage, exc: ValidationError | errors.GuardpostError,
                 known: dict[str, str]) -> dict[str, str]:
    """Messages next to the fields, in the page's language: a model's errors, or one of ours
    (`known` words those by the field they name)."""
    if isinstance(exc, ValidationError):
        messages: dict[str, str] = {}
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else ""
            messages.setdefault(name, field_message(page._, dict(error)))
        return messages
    field = str(exc.loc[-1]) if exc.loc else ""
    return {field: known.get(field, page._("Please check this."))}


def _rules_page(page: HubPage, status_code: int = 200, **context: Any) -> Response:
    sites = sorted({d["site"] for d in page.store.list_devices(None)})
    return page.render("rules.html", status_code, rules=page.store.rules(), sites=sites,
                       **{"form": {"events": ["opened", "overdue"]}, "problems": {}, **context})


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
    typed = {"severity": form.get("severity", ""), "site": form.get("site", ""),
             "url": form.get("url", "").strip(), "events": events}
    try:
        notify_rule(page.store, page.me, RuleIn.model_validate(
            {**typed, "site": typed["site"] or None}))
    except (ValidationError, errors.GuardpostError) as exc:
        problems = _form_errors(page, exc, {
            "url": page._("Not an address Apprise knows, e.g. mailto://user:pw@example.com"),
            "events": page._("Choose when: when it opens, when it is overdue, or both.")})
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
    return page.render("watchlist.html", status_code,
                       watchlist=read_watchlist(page.store, page.me),
                       **{"form": {"severity": "severe"}, "problems": {}, **context})


def _watchlist_user(request: Request) -> HubPage:
    """The page of someone the watch list's rule (`actions.check_watchlist_access`) lets in; a
    403 page for anyone else, as the API's 403."""
    page = HubPage.of_user(request)
    try:
        check_watchlist_access(page.me)
    except errors.Forbidden:
        raise PageAnswer(page.render("message.html", 403, message=page._(
            "Only a manager may change this."))) from None
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
        watch_for(request, page.store, page.me, m.WatchlistEntryIn.model_validate(
            {k: v for k, v in typed.items() if v}))
    except (ValidationError, errors.GuardpostError) as exc:
        problems = _form_errors(page, exc, {
            "id_number": page._("Give an ID number, a name, or both.")})
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


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request) -> Response:
    page = HubPage.of_user(request)
    return _reports_page(page)


def _reports_page(page: HubPage, status_code: int = 200, **context: Any) -> Response:
    """The reports' form; again with what was typed and the message next to a bad date or
    month (422)."""
    today = utc_now().astimezone(page.store.zone).date()
    sites = sorted({d["site"] for d in page.store.list_devices(page.me.sites)})
    return page.render("reports.html", status_code, sites=sites, today=today.isoformat(),
                       month=today.strftime("%Y-%m"),
                       **{"typed": {}, "problems": {}, **context})


@router.get("/reports/daily", response_model=None)
def daily_report(request: Request, site: str = "", date: str = "",
                 format: str = "html") -> Response:  # noqa: A002 - the contract's name
    page = HubPage.of_user(request)
    if not site or not page.me.may_see(site):
        return page.not_found()
    today = utc_now().astimezone(page.store.zone).date()
    day, date_error = asked_day(page._, date, today)
    if date_error:
        return _reports_page(page, 422, typed={"site": site, "date": date},
                             problems={"daily-date": date_error})
    report = reports.daily(page.store, site, day)
    return _report_answer(page, report, format, f"daily-{site}-{report['period']}")


@router.get("/reports/monthly", response_model=None)
def monthly_report(request: Request, site: str = "", month: str = "",
                   format: str = "html") -> Response:  # noqa: A002
    page = HubPage.of_user(request)
    if site and not page.me.may_see(site):
        return page.not_found()
    today = utc_now().astimezone(page.store.zone).date()
    first, month_error = asked_month(page._, month, today.replace(day=1))
    if month_error:
        return _reports_page(page, 422, typed={"site": site, "month": month},
                             problems={"month": month_error})
    sites = [site] if site else page.me.sites  # a manager without a site: the whole company
    report = reports.monthly(page.store, sites, first, visits=format == "csv")
    return _report_answer(page, report, format,
                          f"monthly-{site or 'all'}-{report['period']}")


def _report_answer(page: HubPage, report: dict[str, Any], format: str,  # noqa: A002
                   name: str) -> Response:
    """The report as a page, a CSV or a PDF; each view or export goes into the audit log."""
    audit_read(page.store, page.me, f"report {report['kind']}", report=name, format=format)
    if format == "csv":
        return Response(reports.visits_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": reports.content_disposition(
                            f"{name}.csv")})
    charts = {
        "by_category": reports.bar_chart(
            [(page.labels["categories"][k], v) for k, v in report["by_category"]],
            page._("Visitors by category")),
    }
    if report["kind"] == "daily":
        charts["by_hour"] = reports.bar_chart(report["by_hour"], page._("Visitors by hour"))
    else:
        charts["by_severity"] = reports.bar_chart(
            [(page.labels["severities"][k], v) for k, v in report["by_severity"]],
            page._("Incidents by severity"))
    if format == "pdf":
        html = page.render_text("report_print.html", report=report, charts=charts)
        return Response(reports.pdf(html), media_type="application/pdf",
                        headers={"Content-Disposition": reports.content_disposition(
                            f"{name}.pdf")})
    query = urlencode({k: v for k, v in page.request.query_params.items() if k != "format"})
    return page.render("report.html", report=report, charts=charts, request_query=query)
