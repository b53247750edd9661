"""Logging in and out of the pages, one flow for the tablet and the dashboard: a service says
which form model its login takes (badge and PIN, username and password), how the page words
its two refusals, and its auth's `login(name, secret)` and `logout(token)` do the rest; the
session goes in the page class's cookie. `pages_router` puts a service's pages together."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from service import errors
from service.live import live_router
from service.pages import BasePage, to_login

Words = Callable[[Callable[[str], str]], str]  # a message, given the page's gettext


@dataclass(frozen=True)
class LoginForm:
    """What a service's login form asks: `model` has the fields `name` then `secret`."""

    model: type[BaseModel]
    name: str  # kept in the form after a refusal (never the secret)
    secret: str
    too_many: Words  # 429: too many wrong attempts
    wrong: Words  # 401: the name or the secret is wrong


def login_router(page_class: type[BasePage[Any]], login_form: LoginForm) -> APIRouter:
    """`GET /login`, `POST /login` and `POST /logout` of the pages of `page_class`."""
    router = APIRouter(include_in_schema=False)

    def answer(page: BasePage[Any], status: int, name: str, error: str | None) -> HTMLResponse:
        return page.render("login.html", status, error=error, **{login_form.name: name})

    @router.get("/login", response_class=HTMLResponse)
    def login_page(request: Request) -> Response:
        return answer(page_class(request), 200, "", None)

    @router.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        page = page_class(request)
        form = await page.form()
        name = form.get(login_form.name, "").strip()[:64]  # what is kept in the form: never more
        fields = (login_form.name, login_form.secret)
        login_in, problems = page.validate(
            login_form.model, {k: v for k, v in form.items() if k in fields}
        )
        if login_in is None:
            return answer(page, 422, name, next(iter(problems.values())))
        try:  # argon2 and the write: in a thread, so the other requests go on meanwhile
            result = await anyio.to_thread.run_sync(
                request.app.state.auth.login, *(getattr(login_in, k) for k in fields)
            )
        except errors.TooManyAttempts:
            return answer(page, 429, name, login_form.too_many(page._))
        except errors.Unauthorized:
            return answer(page, 401, name, login_form.wrong(page._))
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            page.session_cookie,
            result["token"],
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            max_age=int(request.app.state.settings.session_hours * 3600),
        )
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        page = page_class.of_user(request)
        await page.checked_form()
        request.app.state.auth.logout(page.token)
        response = to_login()
        response.delete_cookie(page.session_cookie)
        return response

    return router


def pages_router(page_class: type[BasePage[Any]], login_form: LoginForm, *areas: Any) -> APIRouter:
    """A service's pages: logging in and out, `/live` for its live pages, and the routes of
    each of its `areas` (modules with a `router`)."""
    router = APIRouter(include_in_schema=False)
    router.include_router(login_router(page_class, login_form))
    router.include_router(live_router(page_class))
    for area in areas:
        router.include_router(area.router)
    return router
