"""Builds the edge service: one FastAPI app per post, with its logbook, auth and jobs."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from schemas import models as m
from service import __version__, errors
from service.error_pages import install_page_handlers
from service.http import install_api
from service.pages import STATIC
from service.workers import run_every

from .api import router
from .api_fast import VisitFastPath
from .api_health import router as health_router
from .api_patrols import router as patrols_router
from .api_photos import PHOTO_PATHS
from .api_photos import router as photos_router
from .auth import Auth
from .blobs import BlobSender
from .intercom import Intercom
from .logbook import DoorPolicy, Logbook
from .pages import Page
from .pages import router as pages_router
from .settings import EdgeSettings
from .sync import Sync

log = logging.getLogger(__name__)
PURGE_EVERY_S = 24 * 3600
PATROL_CHECK_S = 5.0  # a missed round's incident opens within seconds of its window closing


def open_logbook(settings: EdgeSettings) -> Logbook:
    return Logbook(
        settings.data,
        zone=settings.zone,
        deadlines_h={s: settings.deadline_h(s) for s in ("minor", "medium", "severe")},
        confirm_timeout_s=settings.confirm_timeout,
        intercom_enabled=bool(settings.intercom_webhook),
        doors=DoorPolicy(
            forced_severity=settings.door_forced_severity.value,
            held_open_severity=settings.door_held_open_severity.value,
            held_open_limit_s=settings.door_held_open_s,
        ),
        retention_days=settings.retention_days,
        idle_minutes=settings.idle_minutes,
        default_lang=settings.language,
        disk_reserve_mb=settings.disk_reserve_mb,
    )


def _purge_daily(book: Logbook, stop: threading.Event) -> None:
    while not stop.is_set():
        try:  # the hub's retention once delivered, else the post's own
            removed = book.retention.purge_now(book.settings.effective()["retention_days"])
            removed["photos"] = book.photos.purge_now(removed["cutoff"])
            log.info("retention purge", extra=removed)
        except (errors.ClockBehind, errors.DiskFull, errors.StorageFailed) as exc:
            log.warning("retention purge skipped: %s", exc.msg)
        except Exception:
            log.exception("retention purge failed")
        stop.wait(PURGE_EVERY_S)


def create_app(settings: EdgeSettings, book: Logbook | None = None) -> FastAPI:
    """The edge app for one post; opens the logbook unless one is given."""
    book = book or open_logbook(settings)
    auth = Auth(book, session_hours=settings.session_hours)
    stop = threading.Event()

    sync = Sync(book, settings.broker) if settings.broker else None
    blobs = BlobSender(book, settings.broker) if settings.broker else None
    intercom = Intercom(
        book, settings.intercom_webhook, settings.intercom_secret, settings.answers_url
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        book.photos.sweep_now()  # what a crash between a photo's file and its event left
        purger = threading.Thread(target=_purge_daily, args=(book, stop), daemon=True)
        purger.start()
        judge = threading.Thread(
            target=run_every,
            args=(PATROL_CHECK_S, stop, [(book.patrols.judge_now, "patrol check failed")], log),
            name="patrols",
            daemon=True,
        )
        judge.start()
        intercom.start()
        if sync and blobs:
            sync.start()
            blobs.start()
        try:
            yield
        finally:
            stop.set()
            intercom.stop()
            if sync and blobs:
                blobs.stop()
                sync.stop()
            book.close()

    app = FastAPI(
        title=f"Guardpost edge ({book.site}/{book.device})",
        version=__version__,
        description="The lobby post's API: visitors, door events, incidents, shift logbook. "
        "Every /api/v1 path but /auth/login needs `Authorization: Bearer TOKEN`.",
        lifespan=lifespan,
        # no OpenTelemetry at a post: without this FastAPI asks for its providers per request
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.book = book
    app.state.auth = auth
    app.state.sync = sync
    app.add_middleware(VisitFastPath, book=book)  # inside the bearer auth that install_api adds
    install_api(
        app,
        auth,
        router,
        patrols_router,
        photos_router,
        health_router,
        pages_router,
        larger_bodies=PHOTO_PATHS,
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    install_page_handlers(app, Page)

    @app.get("/healthz", tags=["health"])
    def healthz() -> m.Health:
        return m.Health(ok=True)

    return app
