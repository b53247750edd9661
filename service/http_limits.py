"""What every HTTP answer of the edge and the hub shares, as ASGI middleware: a cap on the size
of each request body, checked before the body is read (413), and the security headers
(`Content-Security-Policy` with `frame-ancestors 'none'`, `X-Content-Type-Options: nosniff`).

Both apps install it with `install_http_limits(app)`; it sits outside everything else, so a
401 from `BearerAuth` or a 413 from here carries the headers too."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# every body the API models allow fits: the largest, an incident of 5,000 + 464 characters,
# is 66 KB as a form of 4-byte characters (12 bytes each once percent-encoded)
MAX_BODY_BYTES = 128 * 1024

# the pages load only their own scripts and stylesheet (no inline script, style or handler),
# talk only to their own origin, and may not be framed (the one-tap checkout and override)
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# FastAPI's /docs and /redoc load Swagger UI / ReDoc from a CDN with an inline script
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net "
    "https://fonts.googleapis.com; font-src https://fonts.gstatic.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "worker-src blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


class BodyTooLarge(Exception):
    """The body being read passed its cap (raised from `receive`, answered as 413)."""


class BodyLimit:
    """ASGI middleware: 413 for a body over its path's cap, before the app reads it.

    A declared `Content-Length` over the cap is refused at once, unread. A body without one
    (chunked) is counted as the app reads it: past the cap, `receive` raises `BodyTooLarge`
    and whatever the app then tries to answer is replaced by the 413. `larger` maps a path
    pattern (a regular expression matched against the whole path) to its own cap, for the
    few paths that need more (a photo upload)."""

    def __init__(
        self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, larger: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = [(re.compile(pattern), cap) for pattern, cap in (larger or {}).items()]

    def cap_for(self, path: str) -> int:
        for pattern, cap in self.larger:
            if pattern.fullmatch(path):
                return cap
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.cap_for(scope.get("path", ""))
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                length = -1
            if length < 0 or length > cap:
                await too_large(scope, send, cap)
                return
        seen = 0
        over = False
        started = False

        async def counted_receive() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    over = True
                    raise BodyTooLarge(cap)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if over:
                return  # the app's answer to the cut-off body: the 413 goes instead
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except BodyTooLarge:
            pass
        except Exception:
            if not over:
                raise
        if over and not started:
            await too_large(scope, send, cap)


async def too_large(scope: Scope, send: Send, cap: int) -> None:
    """413: the shared error shape for the API, a short page in the page's language else."""
    path = scope.get("path", "")
    if path.startswith("/api/"):
        body = json.dumps(
            {
                "detail": [
                    {
                        "loc": ["body"],
                        "msg": f"the body is larger than {cap} bytes",
                        "type": "too_large",
                    }
                ]
            }
        ).encode()
        content_type = b"application/json"
    else:
        body = _too_large_page(scope).encode()
        content_type = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _too_large_page(scope: Scope) -> str:
    from .i18n import choose_language, gettext_for

    request = Request(scope)
    default = (
        getattr(getattr(request.app.state, "settings", None), "language", "en")
        if "app" in scope
        else "en"
    )
    lang = choose_language(request, default)
    _ = gettext_for(lang)
    message = escape(_("This is more than a form may send. Shorten what you typed and try again."))
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>413</title><link rel="stylesheet" href="/static/tablet.css"></head>'
        f'<body><main><p class="card error" role="alert">{message}</p></main></body></html>'
    )


class SecurityHeaders:
    """ASGI middleware: every answer says `nosniff` and carries a CSP that forbids framing and
    anything but the service's own scripts and styles (the docs pages get a looser one)."""

    def __init__(self, app: ASGIApp, docs_paths: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.docs_paths = docs_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = (DOCS_CSP if scope.get("path", "") in self.docs_paths else PAGE_CSP).encode()

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _OURS]
                headers += [
                    (b"content-security-policy", csp),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


_OURS = frozenset({b"content-security-policy", b"x-content-type-options", b"x-frame-options"})


def install_http_limits(app: Any, larger_bodies: Mapping[str, int] | None = None) -> None:
    """Add both middlewares to a FastAPI app, outside those already added (call it last)."""
    app.add_middleware(BodyLimit, larger=larger_bodies)
    docs = frozenset(
        p for p in (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url) if p
    )
    app.add_middleware(SecurityHeaders, docs_paths=docs)
