"""`GET /api/v1/health`: the post's health for a monitor (and the hub's status message), without
a login and without anything personal: version, database, free disk, clock, broker, last ack."""

from __future__ import annotations

import sqlite3
from typing import Any

from fastapi import APIRouter, Request

from schemas import models as m
from schemas.ids import now_text
from service import __version__

from .logbook import Logbook

router = APIRouter(prefix="/api/v1", tags=["health"])


def post_health(book: Logbook, broker_connected: bool) -> dict[str, Any]:
    """What `/api/v1/health` answers."""
    try:
        last_ack_at = book.sync.state()["last_ack_at"]
        db_ok = book.writer.is_running
    except sqlite3.Error:
        last_ack_at, db_ok = None, False
    try:
        disk_free_mb, low = book.disk.free_mb(), book.disk.is_low()
    except OSError:  # the data directory is gone from under the service
        disk_free_mb, db_ok, low = 0, False, True
    return {
        "ok": db_ok and not (book.disk_full or low),
        "version": __version__,
        "db_ok": db_ok,
        "disk_free_mb": disk_free_mb,
        "clock": now_text(),
        "broker_connected": broker_connected,
        "last_ack_at": last_ack_at,
    }


@router.get("/health")
def health(request: Request) -> m.PostHealth:
    """No login needed. `ok` is false when the database does not answer or the disk is below
    the reserve (`GUARDPOST_DISK_RESERVE_MB`): the post then refuses new records with 507."""
    sync = request.app.state.sync
    book: Logbook = request.app.state.book
    return m.PostHealth.model_validate(
        post_health(book, broker_connected=bool(sync and sync.is_connected))
    )
