"""Every error on a page path answers a page: the message page of the service's page class
in the page's language (the status still decided by the JSON error handlers the API uses), a
login redirect, a CSRF refusal, or a plain page when even the page machinery fails."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from service import errors
from service.i18n import choose_language, gettext_for
from service.pages import CsrfRefused, LoginRequired, PageAnswer, to_login

log = logging.getLogger(__name__)


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


def install_page_handlers(app: Any, page_of: Callable[[Request], Any]) -> None:
    """Turn the pages' refusals into what a browser should get, and make every error on a
    page path a page: the JSON error handlers installed before (the API's, named errors,
    validation, 404/405, the unexpected 500 that is logged with its traceback) still decide
    the status, and still answer the API; a page gets the message page of `page_of` (the
    edge's `Page`, the hub's `HubPage`) in its language instead of their JSON."""

    def as_page(handler: Callable[[Request, Exception], Any]) -> Callable[..., Any]:
        async def answer(request: Request, exc: Exception) -> Response | None:
            response = handler(request, exc)
            if hasattr(response, "__await__"):
                response = await response
            if not isinstance(response, Response):  # a websocket's handler answers nothing
                return None
            kind = response.headers.get("content-type", "")
            if not is_page_path(request.url.path) or not kind.startswith("application/json"):
                return response
            kept = {
                k: v
                for k, v in response.headers.items()
                if k.lower() in ("allow", "retry-after", "www-authenticate")
            }
            return error_page(request, response.status_code, page_of, kept)

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
        page = page_of(request)
        response: Response = page.render(
            "message.html",
            exc.status,
            message=page._("The disk is full: nothing was saved. Tell your supervisor."),
        )
        return response

    app.add_exception_handler(errors.DiskFull, disk_full)
    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(CsrfRefused, csrf_refused)
    app.add_exception_handler(PageAnswer, page_answer)
