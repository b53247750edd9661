"""Live pages, on the tablet and at the hub: `/live` answers the version a page compares (a
new event, an ack, a reconnect), as server-sent events or once as JSON; the page reloads its
content when it moves (service/static/live.js)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from service.pages import BasePage

LIVE_CHECK_S = 1.0  # how often a stream looks for a change
LIVE_HEARTBEAT_S = 15.0  # a comment line, so proxies and Wi-Fi keep the stream open
LIVE_STREAM_S = 120.0  # then the browser reconnects by itself: no stream outlives a shutdown


def live_answer(request: Request, version: Callable[[], str | None]) -> Response:
    """`/live` for live pages: `version()` is what the page compares (None once the session
    has ended). An EventSource (`Accept: text/event-stream`) gets server-sent events, one
    `data: {"version": ...}` each time it changes and `event: logout` when the session ends;
    any other request gets the version once, as JSON."""
    now = version()
    if now is None or "text/event-stream" not in request.headers.get("accept", ""):
        return JSONResponse({"version": now}, status_code=401 if now is None else 200)

    async def events() -> AsyncIterator[str]:
        yield "retry: 2000\n\n"
        sent, quiet_since, started = "", time.monotonic(), time.monotonic()
        while time.monotonic() - started < LIVE_STREAM_S:
            now = await anyio.to_thread.run_sync(version)
            if now is None:
                yield "event: logout\ndata: {}\n\n"
                return
            if now != sent:
                sent, quiet_since = now, time.monotonic()
                yield f"data: {json.dumps({'version': now})}\n\n"
            elif time.monotonic() - quiet_since > LIVE_HEARTBEAT_S:
                quiet_since = time.monotonic()
                yield ": still here\n\n"
            if await request.is_disconnected():
                return
            await anyio.sleep(LIVE_CHECK_S)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def live_router(page_class: type[BasePage[Any]]) -> APIRouter:
    """`/live` of a service whose pages are `page_class`: the version of the logged-in user's
    pages (`live_version()`), None once the session has ended."""
    router = APIRouter(include_in_schema=False)

    @router.get("/live")
    def live(request: Request) -> Response:
        def version() -> str | None:
            page = page_class(request)  # each time: a revoked session ends the stream
            return page.live_version() if page.user is not None else None

        return live_answer(request, version)

    return router
