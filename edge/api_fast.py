"""The lobby's hot path: `POST /api/v1/visits` by a guard, served as plain ASGI inside the
bearer auth, without FastAPI's routing, dependency solving and response building (issue 19:
those cost more than the registration itself).

The answer is the one `edge.api.register_visit` gives: the body is parsed as FastAPI parses it
(`json.loads`, then `VisitIn`, one validation), the visit is registered by the same call, and
the 201 carries the same JSON and headers. Whatever is not the plain case (another path or
method, an API key, a body FastAPI would read differently, one that fails validation) goes on
to the app as it came, so its 403, 413 or 422 is FastAPI's own."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from schemas.bodies import VisitIn
from service import errors
from service.http import error_body

from .logbook import Actor, Logbook

PATH = "/api/v1/visits"
# FastAPI reads a body as JSON when it has no content type or this one (any parameters aside
# from the charset are left to FastAPI)
JSON_TYPES = frozenset({b"application/json", b"application/json; charset=utf-8"})
# what `JSONResponse` writes, made once
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
_JSON = b"application/json"


class VisitFastPath:
    """ASGI middleware, inside `BearerAuth`: registers a guard's visit or passes it on."""

    def __init__(self, app: ASGIApp, book: Logbook) -> None:
        self.app = app
        self.book = book

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        actor = scope.get("state", {}).get("actor")  # as `BearerAuth` settled it
        content_type = _header(scope, b"content-type")
        is_guard = isinstance(actor, Actor) and actor.kind == "guard"
        if not is_guard or not (content_type is None or content_type in JSON_TYPES):
            await self.app(scope, receive, send)
            return
        body, disconnected = await _read_body(receive)
        if disconnected:
            return
        try:
            visit = VisitIn.model_validate(json.loads(body))
        except (ValueError, ValidationError):  # JSONDecodeError and UnicodeDecodeError too
            await self.app(scope, _replay(body, receive), send)
            return
        try:
            record = await self.book.visits.register(visit.model_dump(), by=actor)
        except errors.GuardpostError as exc:
            await _answer(send, exc.status, _ENCODER.encode(error_body(exc)).encode("utf-8"))
            return
        await _answer(send, 201, _ENCODER.encode(record).encode("utf-8"))


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return bytes(value).lower()
    return None


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The whole body, and whether the client went away before sending it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"", True
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), False


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the body already read, then whatever comes after it."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


async def _answer(send: Send, status: int, body: bytes) -> None:
    """A JSON answer with the headers `JSONResponse` gives it (the security headers are added
    around it, as to every answer)."""
    headers: list[tuple[bytes, Any]] = [
        (b"content-length", str(len(body)).encode("latin-1")),
        (b"content-type", _JSON),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
