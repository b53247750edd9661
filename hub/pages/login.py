"""Logging in and out of the dashboard, and `/live`, the version its pages follow."""

from __future__ import annotations

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from edge.pages import live_answer, to_login
from service import errors

from ..actions import HubLoginIn
from .base import SESSION_COOKIE, HubPage, form_errors

router = APIRouter(include_in_schema=False)


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
            {k: v for k, v in form.items() if k in ("username", "password") and v.strip()}
        )
    except ValidationError as exc:
        problems = form_errors(page, exc, {})
        return page.render(
            "login.html", 422, username=username, error=next(iter(problems.values()))
        )
    try:  # argon2 and the write: in a thread, so the dashboard's other requests go on
        result = await anyio.to_thread.run_sync(
            request.app.state.auth.login, login_in.username, login_in.password
        )
    except errors.TooManyAttempts:
        return page.render(
            "login.html",
            429,
            username=username,
            error=page._("Too many wrong passwords. Wait 5 minutes."),
        )
    except errors.Unauthorized:
        return page.render(
            "login.html", 401, username=username, error=page._("Wrong username or password.")
        )
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
