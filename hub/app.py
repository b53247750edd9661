"""Builds the hub: store, MQTT ingest (when a broker is given), the supervisors' API and
dashboard."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from schemas import models as m
from service import __version__
from service.error_pages import install_page_handlers
from service.http import install_api
from service.pages import STATIC
from service.photo_files import PhotoFiles

from .api import router
from .auth import HubAuth
from .blobs import BlobReceiver
from .escalation import Escalation
from .ingest import Ingest
from .pages import HubPage
from .pages import router as pages_router
from .search_index import SearchIndexer
from .settings import HubSettings
from .store import Store


def create_app(settings: HubSettings, store: Store | None = None) -> FastAPI:
    store = store or Store(settings.data, zone=settings.zone, db_url=settings.db)
    auth = HubAuth(store, session_hours=settings.session_hours)
    ingest = (
        Ingest(
            store,
            settings.broker,
            shared=settings.shared_subscription,
            client_id=settings.client_id,
            resend_down_s=settings.resend_down_s,
            min_retention_days=settings.min_retention_days,
        )
        if settings.broker
        else None
    )

    photo_files = PhotoFiles(settings.data)
    blobs = (
        BlobReceiver(
            store,
            settings.broker,
            photo_files,
            settings.client_id,
            min_retention_days=settings.min_retention_days,
        )
        if settings.broker
        else None
    )

    escalation = Escalation(
        store,
        settings.escalation_check_s,
        settings.public_url,
        on_entry=ingest.send_down if ingest else None,
    )
    if ingest:
        ingest.on_panic = escalation.wake  # a guard's panic is mailed as soon as it arrives
    indexer = SearchIndexer(store, busy=ingest.is_busy if ingest else lambda: False)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if ingest:
            ingest.start()
        if blobs:
            blobs.start()
        escalation.start()
        indexer.start()
        try:
            yield
        finally:
            indexer.stop()
            escalation.stop()
            if blobs:
                blobs.stop()
            if ingest:
                ingest.stop()
            store.close()

    app = FastAPI(
        title="Guardpost hub",
        version=__version__,
        lifespan=lifespan,
        description="Every post's logbook for supervisors. Every /api/v1 path but "
        "/auth/login needs `Authorization: Bearer TOKEN`.",
    )
    app.state.settings = settings
    app.state.store = store
    app.state.auth = auth
    app.state.ingest = ingest
    app.state.photo_files = photo_files
    install_api(app, auth, router, pages_router)
    # one stylesheet and one live-update script for the tablet and the dashboard
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    install_page_handlers(app, HubPage)

    @app.get(
        "/healthz",
        tags=["health"],
        response_model=m.Health,
        responses={
            503: {
                "description": 'a worker stopped: {"ok": false, "stopped":'
                ' ["ingest" | "down" | "mqtt"]}'
            }
        },
    )
    def healthz() -> Any:
        """200 while the hub works; 503 naming the stopped thread when one of its workers
        (`ingest`, `down`, `mqtt`) has stopped: `serve` then exits for a restart."""
        dead = ingest.dead_threads() if ingest else []
        if dead:
            return JSONResponse({"ok": False, "stopped": dead}, status_code=503)
        return m.Health(ok=True)

    return app
