"""The page base both services' pages extend (the tablet's `edge.pages.Page`, the dashboard's
`hub.pages.HubPage`): the language, the session and its user, CSRF tokens, forms checked
against their API model, and rendering with the context every page has. Server-rendered
Jinja2 over two template folders: the service's own first, then the shared one here (the
layout and the form fields both services use)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import tzinfo
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Generic, Self, TypeVar
from urllib.parse import parse_qs

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, ValidationError

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
    translations,
)
from service.incident_words import coded_title
from service.pages_text import (
    field_message,
    incident_description,
    incident_title,
    labels_for,
)

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"  # one stylesheet and the scripts, for the tablet and the dashboard
SHARED_TEMPLATES = HERE / "templates"

M = TypeVar("M", bound=BaseModel)
U = TypeVar("U")


@cache
def environment(lang: str, templates: Path) -> Environment:
    """One Jinja2 environment per language and service: its own template folder first, then
    the shared one; `_()` bound to that language's catalogue, which the edge and the hub
    share."""
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(templates), FileSystemLoader(SHARED_TEMPLATES)]),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


def csrf_token(session_token: str) -> str:
    """A per-session CSRF token derived from the session, so nothing more is stored."""
    return hmac.new(session_token.encode(), b"csrf", hashlib.sha256).hexdigest()[:32]


def to_login() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


class LoginRequired(Exception):
    """A page that needs a login was asked for without one: 303 to /login."""


class CsrfRefused(Exception):
    """A changing form came without its CSRF token: 403, as a page (edge or hub)."""

    def __init__(self, page: BasePage[Any]) -> None:
        super().__init__(page.request.url.path)
        self.page = page


class PageAnswer(Exception):
    """Stop here and answer with this page (a refusal found before the handler's own work)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class BasePage(Generic[U]):
    """What every page needs: the language, the user `U` (if logged in) and the CSRF token.
    A service names its session cookie and template folder, and says how a session token
    becomes its user (`resolve`), its time zone and what its pages add to the context."""

    session_cookie: ClassVar[str]
    templates: ClassVar[Path]

    def __init__(self, request: Request) -> None:
        self.request = request
        self.lang = choose_language(request, self.default_language())
        self._ = gettext_for(self.lang)
        self.token = request.cookies.get(self.session_cookie, "")
        self.user: U | None = None
        if self.token:
            try:
                self.user = self.resolve(self.token)
            except errors.Unauthorized:
                self.user = None

    def resolve(self, token: str) -> U | None:
        """The user of a session token (None when it may not use these pages)."""
        raise NotImplementedError

    def default_language(self) -> str:
        """The language of a visitor who has not picked one, before `Accept-Language`."""
        language: str = self.request.app.state.settings.language
        return language

    def zone(self) -> tzinfo:
        """The time zone the pages show times in."""
        raise NotImplementedError

    def context(self) -> dict[str, Any]:
        """What this service's pages show on every page besides the common context."""
        return {}

    def live_version(self) -> str:
        """What a live page of a logged-in user compares to know it is out of date."""
        raise NotImplementedError

    @classmethod
    def of_user(cls, request: Request) -> Self:
        """The page of a logged-in user; LoginRequired (a redirect to /login) otherwise."""
        page = cls(request)
        if page.user is None:
            raise LoginRequired()
        return page

    @property
    def me(self) -> U:
        if self.user is None:
            raise LoginRequired()
        return self.user

    @property
    def csrf(self) -> str:
        return csrf_token(self.token) if self.token else ""

    async def form(self) -> dict[str, str]:
        """The posted form (urlencoded), one value per field."""
        body = (await self.request.body()).decode("utf-8", errors="replace")
        return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}

    def csrf_ok(self, form: dict[str, str]) -> bool:
        return bool(self.token) and hmac.compare_digest(form.get("csrf", ""), self.csrf)

    async def checked_form(self) -> dict[str, str]:
        """The posted form of a changing request; CsrfRefused (403) without its token."""
        form = await self.form()
        if not self.csrf_ok(form):
            raise CsrfRefused(self)
        return form

    def validate(self, model: type[M], form: dict[str, Any]) -> tuple[M | None, dict[str, str]]:
        """Check a posted form's filled-in fields against their API model: the model, or a
        message in the page's language for each field that is wrong."""
        body = {k: v for k, v in form.items() if k != "csrf" and str(v).strip()}
        try:
            return model.model_validate(body), {}
        except ValidationError as exc:
            return None, self.messages(exc)

    def messages(self, exc: ValidationError) -> dict[str, str]:
        """A model's errors in the page's language, by the form field they name."""
        messages: dict[str, str] = {}
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else ""
            messages.setdefault(name, field_message(self._, dict(error)))
        return messages

    def text_entry(
        self, model: type[M], form: dict[str, str], *names: str
    ) -> tuple[M | None, dict[str, str]]:
        """A form whose one free field is `text` (a timeline entry, a handover note) against
        its model: the model, or what the page shows again, the text as typed and the message
        under it."""
        try:
            return model.model_validate({name: form.get(name) for name in names}), {}
        except ValidationError:
            return None, {
                "text": form.get("text", ""),
                "text_error": self._("Please fill this in."),
            }

    def labels(self) -> dict[str, Any]:
        """Every code a page shows (categories, statuses, kinds) in the page's language."""
        return labels_for(self._)

    def refuse(self) -> HTMLResponse:
        """403 for a changing form without its CSRF token (an old tab, or another site)."""
        return self.render(
            "message.html",
            403,
            message=self._("This form has expired. Go back, reload the page and try again."),
        )

    def render_text(self, template: str, **context: Any) -> str:
        """The template in the page's language; `|localtime` shows a time in the site's zone
        and `|incident_title` an incident's title, a generated one worded from its codes."""
        env = environment(self.lang, self.templates)
        zone, locale = self.zone(), BABEL_LOCALES[self.lang]
        env.filters["localtime"] = lambda text: (
            local_time(parse_time(text).astimezone(zone), locale) if text else "—"
        )
        labels = self.labels()
        env.filters["incident_title"] = lambda incident: (
            coded_title(self._, incident) or incident_title(self._, labels, incident)
        )
        env.filters["incident_description"] = lambda incident: incident_description(
            self._, incident
        )
        # a logbook's time column: its page names the day, so the hour and minute alone
        env.filters["clock"] = lambda text: (
            f"{parse_time(text).astimezone(zone):%H:%M}" if text else "—"
        )
        return env.get_template(template).render(
            lang=self.lang,
            languages=language_links(self.request),
            csrf=self.csrf,
            me=self.user,  # the shared layout's logout form and menu
            **{
                # an error page says it is not live: its version is not read (the read may
                # be what failed)
                "live_version": (
                    self.live_version()
                    if self.user is not None and "live_version" not in context
                    else ""
                ),
                **self.context(),
                **self.labels(),
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
