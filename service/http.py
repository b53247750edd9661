"""The HTTP both services share: bearer-token auth for `/api/v1`, the one error shape
(FastAPI's, naming the field, never echoing input) and its handlers, the errors any operation
may answer, and the dependencies that read what `create_app` put in `app.state`."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar, cast

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from . import errors
from .http_limits import install_http_limits

log = logging.getLogger(__name__)
T = TypeVar("T")
OPEN_PATHS = {"/api/v1/auth/login", "/api/v1/health"}  # health: the edge's, for monitors


class TokenResolver(Protocol):
    """Edge `Auth` and hub `HubAuth`: a bearer token to who is asking, or Unauthorized."""

    def resolve(self, token: str) -> Any: ...


class BearerAuth:
    """ASGI middleware: resolves `Authorization: Bearer TOKEN` for every `/api/v1` path but login,
    puts the guard or key in `request.state.actor`, and answers 401 itself when there is none."""

    def __init__(self, app: ASGIApp, auth: TokenResolver) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith("/api/v1/") and path not in OPEN_PATHS:
            header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
            scheme, _, token = header.partition(" ")
            try:
                if scheme.lower() != "bearer" or not token.strip():
                    raise errors.Unauthorized(
                        "missing bearer token", loc=("header", "Authorization")
                    )
                actor = self.auth.resolve(token.strip())
            except errors.Unauthorized as exc:
                body = json.dumps(error_body(exc)).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"www-authenticate", b"Bearer"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
            scope.setdefault("state", {})["actor"] = actor
            scope["state"]["token"] = token.strip()
        await self.app(scope, receive, send)


def error_body(exc: errors.GuardpostError) -> dict[str, Any]:
    """The one error shape: FastAPI's, naming the field."""
    return {"detail": [{"loc": list(exc.loc), "msg": exc.msg, "type": exc.type}]}


# What any `/api/v1` operation may answer besides its own: the same FastAPI-shaped errors.
COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body is not JSON (not UTF-8, or cut short)."},
    401: {"description": "No valid `Authorization: Bearer TOKEN`."},
    403: {"description": "The token's role or the key's scope may not do this."},
    413: {"description": "The body is larger than the service accepts."},
    507: {"description": "The disk is full: nothing was written; try again once space is freed."},
}


def install_api(
    app: FastAPI,
    auth: TokenResolver,
    *routers: APIRouter,
    larger_bodies: Mapping[str, int] | None = None,
) -> None:
    """Serve `routers` behind bearer auth, with the body caps (`larger_bodies`: a path pattern's
    own cap) and security headers outermost (on every answer, a 401 from `BearerAuth` too) and
    the one error shape."""
    for router in routers:
        app.include_router(router)
    app.add_middleware(BearerAuth, auth=auth)
    install_http_limits(app, larger_bodies)
    install_error_handlers(app)


def install_error_handlers(app: FastAPI) -> None:
    """One error shape for edge and hub: FastAPI's, naming the field, never echoing input."""

    @app.exception_handler(errors.GuardpostError)
    async def guardpost_error(request: Request, exc: errors.GuardpostError) -> JSONResponse:
        return JSONResponse(error_body(exc), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # never echo the input back: it may hold an ID number
        detail = [
            {
                "loc": list(e.get("loc", ())),
                "msg": e.get("msg", "invalid"),
                "type": e.get("type", "value_error"),
            }
            for e in exc.errors()
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", extra={"path": request.url.path})
        body: dict[str, Any] = {
            "detail": [{"loc": [], "msg": "internal error", "type": "internal"}]
        }
        return JSONResponse(body, status_code=500)


def state_dependency(name: str, kind: type[T]) -> Callable[[Request], Awaitable[T]]:
    """A FastAPI dependency: what `create_app` put in `app.state` under `name` (the logbook, the
    store, auth). Async: it only reads request state, so no threadpool hop."""

    async def dependency(request: Request) -> T:
        return cast(T, getattr(request.app.state, name))

    return dependency


def actor_dependency(kind: type[T]) -> Callable[[Request], Awaitable[T]]:
    """A FastAPI dependency: who is asking, as `BearerAuth` settled it (a guard or key at a post,
    a user at the hub)."""

    async def dependency(request: Request) -> T:
        return cast(T, request.state.actor)

    return dependency
