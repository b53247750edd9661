"""The dashboard's page base: `HubPage` (the language, the user, CSRF, rendering), and what
several pages share (incidents by urgency, a form's messages next to its fields)."""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from edge.pages import (
    CsrfRefused,
    LoginRequired,
    PageAnswer,
    csrf_token,
    environment,
    field_message,
    labels_for,
)
from schemas.ids import parse_time
from service import errors
from service.i18n import (
    BABEL_LOCALES,
    LANG_CODES,
    LANG_COOKIE,
    choose_language,
    gettext_for,
    language_links,
    local_time,
)

from ..auth import User
from ..store import Store

HERE = Path(__file__).resolve().parent.parent  # hub/: its templates/
SESSION_COOKIE = "gp_hub_session"
SEVERITY_ORDER = {"severe": 0, "medium": 1, "minor": 2}


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
            raise PageAnswer(
                page.render("message.html", 403, message=page._("Only a manager may change this."))
            )
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
        return self.render(
            "message.html",
            403,
            message=self._("This form has expired. Go back, reload the page and try again."),
        )

    def not_found(self) -> HTMLResponse:
        return self.render("message.html", 404, message=self._("There is nothing here."))

    @property
    def labels(self) -> dict[str, dict[str, str]]:
        _ = self._
        return {
            **labels_for(_),
            "roles": {
                "manager": _("Manager"),
                "supervisor": _("Supervisor"),
                "auditor": _("Auditor"),
            },
        }

    def render_text(self, template: str, **context: Any) -> str:
        env = environment(self.lang, HERE / "templates")
        zone, locale = self.store.zone, BABEL_LOCALES[self.lang]
        env.filters["localtime"] = lambda text: (
            local_time(parse_time(text).astimezone(zone), locale) if text else "—"
        )
        return env.get_template(template).render(
            lang=self.lang,
            languages=language_links(self.request),
            user=self.user,
            csrf=self.csrf,
            **{
                "live_version": self.store.live_version(self.user.sites) if self.user else "",
                **self.labels,
                **context,
            },
        )

    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        if status_code >= 400:  # not live: a refresh would wipe the message and what was typed
            context["live_version"] = ""
        response = HTMLResponse(self.render_text(template, **context), status_code=status_code)
        if self.request.query_params.get("lang") in LANG_CODES:
            response.set_cookie(
                LANG_COOKIE, self.lang, max_age=365 * 86400, samesite="lax", httponly=True
            )
        return response


def by_urgency(incidents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Overdue first, then severe, medium, minor, then the oldest."""
    return sorted(
        incidents, key=lambda i: (not i["overdue"], SEVERITY_ORDER[i["severity"]], i["opened_at"])
    )


def open_incidents(store: Store, sites: list[str] | None) -> list[dict[str, Any]]:
    return by_urgency([i for i in store.list_incidents(sites) if i["status"] != "closed"])


def form_errors(
    page: HubPage, exc: ValidationError | errors.GuardpostError, known: dict[str, str]
) -> dict[str, str]:
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
