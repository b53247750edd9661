"""The dashboard's page base: `HubPage` (the page base of `service.pages` with the hub's user,
store and templates), and what several pages share (incidents by urgency, a form's messages
next to its fields)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from service import errors
from service.pages import BasePage, PageAnswer

from ..auth import User
from ..store import Store

SESSION_COOKIE = "gp_hub_session"
SEVERITY_ORDER = {"severe": 0, "medium": 1, "minor": 2}


class HubPage(BasePage[User]):
    """What every dashboard page needs: the language, the user (if logged in), CSRF."""

    session_cookie = SESSION_COOKIE
    templates = Path(__file__).resolve().parent.parent / "templates"

    def __init__(self, request: Request) -> None:
        self.store: Store = request.app.state.store
        super().__init__(request)

    def resolve(self, token: str) -> User:
        user: User = self.request.app.state.auth.resolve(token)
        return user

    def zone(self) -> ZoneInfo:
        return self.store.zone

    def live_version(self) -> str:
        return self.store.live_version(self.me.sites)

    def context(self) -> dict[str, Any]:
        # the pages show a site by its name (`site_names.get(slug, slug)`), not its slug
        return {"user": self.user, "site_names": self.store.shown_names() if self.user else {}}

    @classmethod
    def of_manager(cls, request: Request) -> HubPage:
        """The page of a logged-in manager; a 403 page (PageAnswer) for anyone else."""
        page = cls.of_user(request)
        if page.me.role != "manager":
            raise PageAnswer(
                page.render("message.html", 403, message=page._("Only a manager may change this."))
            )
        return page

    def not_found(self) -> HTMLResponse:
        return self.render("message.html", 404, message=self._("There is nothing here."))

    def labels(self) -> dict[str, Any]:
        _ = self._
        return {
            **super().labels(),
            "roles": {
                "manager": _("Manager"),
                "supervisor": _("Supervisor"),
                "auditor": _("Auditor"),
            },
            "command_words": {
                "status": _("Status"),
                "assign": _("Assign"),
                "severity": _("Re-grade"),
            },
            "command_states": {
                "pending": _("Waiting for the post"),
                "applied": _("Done at the post"),
                "rejected": _("Refused by the post"),
            },
        }


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
        return page.messages(exc)
    field = str(exc.loc[-1]) if exc.loc else ""
    return {field: known.get(field, page._("Please check this."))}
