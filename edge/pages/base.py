"""The tablet's page base: `Page` (the page base of `service.pages` with the guard, the
logbook, the sync status bar and the edge's templates), and what several of its pages share."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse

from service.logbook_words import worded_lines
from service.pages import BasePage
from service.passwords import token_digest

from ..logbook import Actor, Logbook

SESSION_COOKIE = "gp_session"
SUSPICIOUS = "suspicious_visitor"  # the incident category of the manuals' procedure


class Page(BasePage[Actor]):
    """What every tablet page needs: the language, the guard (if logged in), the CSRF token,
    the logbook and the sync status."""

    session_cookie = SESSION_COOKIE
    templates = Path(__file__).resolve().parent.parent / "templates"

    def __init__(self, request: Request) -> None:
        self.book: Logbook = request.app.state.book
        super().__init__(request)

    def resolve(self, token: str) -> Actor | None:
        actor: Actor = self.request.app.state.auth.resolve(token)
        return actor if actor.kind == "guard" else None

    @cached_property
    def settings(self) -> dict[str, Any]:
        """The post's effective settings, read once per page (the hub's once delivered)."""
        return self.book.settings.effective()

    def default_language(self) -> str:
        """The site's default language: the hub's once delivered, else `--language`."""
        return str(self.settings["default_lang"])

    @property
    def guard(self) -> Actor | None:
        return self.user

    def zone(self) -> ZoneInfo:
        return self.book.zone

    @cached_property
    def sync(self) -> dict[str, Any]:
        """The status bar: the sync state, and whether nothing can be saved, or the clock
        looks wrong."""
        sync = self.request.app.state.sync
        return {
            **self.book.sync.state(connected=bool(sync and sync.is_connected)),
            "disk_full": self.book.disk_full,
            "disk_low": self.book.disk.is_low(),
            "clock": self.book.retention.clock_problem(),
        }

    def live_version(self) -> str:
        """What a live page compares to know it is out of date: a new event, an ack, a
        reconnect, an incident falling due (no event marks that)."""
        state = self.sync
        overdue = self.book.incidents.count_overdue()
        return f"{state['last_seq']}:{state['acked_seq']}:{int(state['connected'])}:{overdue}"

    def context(self) -> dict[str, Any]:
        return {
            "site": self.book.site,
            "site_name": self.settings["name"],
            "device": self.book.device,
            "guard": self.user,
            "sync": self.sync if self.user else None,
            "idle_s": int(self.settings["idle_minutes"] * 60),
        }

    @classmethod
    def blank_form(cls, request: Request, template: str) -> HTMLResponse:
        """A form page of a logged-in guard, nothing typed yet."""
        return cls.of_user(request).render(template, values={}, errors={})

    def worded(self, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Logbook lines (with `data`) in the page's language, each with its subject and who
        made it."""
        return worded_lines(self._, self.labels(), lines, self.book.line_names(lines))

    def waiting_handover(self) -> dict[str, Any] | None:
        """The last handover, while this guard's session has to see it (`waiting_for`)."""
        return self.book.shift_notes.waiting_for(token_digest(self.token)) if self.token else None
