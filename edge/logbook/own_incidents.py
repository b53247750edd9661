"""Incidents the post opens by itself, inside the write of what raised them: a door held open
or forced, a missed patrol run, the panic button, a watch-list match."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from pydantic import BaseModel

from schemas.ids import format_time
from schemas.models import Channel, IncidentOpenedData, Severity

from .family import LogbookParts


def open_own_incident(
    book: LogbookParts,
    conn: sqlite3.Connection,
    incident_id: str,
    *,
    category: str,
    severity: Severity,
    title: str,
    by: str,
    at: datetime,
    title_code: str | None = None,
    description: str | None = None,
    location: str | None = None,
    visit_id: str | None = None,
    channel: Channel | None = None,
    pii: BaseModel | None = None,
) -> None:
    """An incident the post opens itself, inside the caller's write (a door held open or
    forced, a missed patrol run, the panic button, a watch-list match): due by the site's
    deadline for its grade. Its `title` is the post's own wording or, with `title_code`, a code
    the pages word; a person's words go in `pii`."""
    book.writer.append(
        conn,
        "incident.opened",
        incident_id,
        IncidentOpenedData(
            category=category,
            severity=severity,
            title=title,
            title_code=title_code,
            description=description,
            location=location,
            visit_id=visit_id,
            channel=channel,
            due_at=format_time(at + timedelta(hours=book.deadlines_h[severity])),
            by=by,
        ),
        pii,
        at=at,
    )
