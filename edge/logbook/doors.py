"""Door events: what a door controller or a guard reports, and the incident a forced door (or
one held open too long) opens by itself."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from schemas.ids import format_time, new_id, utc_now
from schemas.models import Channel, DoorEventData, Severity
from service import errors

from ..privacy import text_pii
from .actors import Actor
from .family import Family
from .own_incidents import open_own_incident
from .visits import linked_visit


class Doors(Family):
    """`book.doors`: the door events of the post."""

    async def record(self, body: dict[str, Any], by: Actor) -> dict[str, Any]:
        """Log a door event; `forced`, and `held_open` past the post's limit, also open a
        security incident in the same transaction (the tablet's home shows it at once)."""
        event_id = new_id()
        occurred = body.get("occurred_at")
        occurred_at = format_time(occurred) if isinstance(occurred, datetime) else None
        duration_s = body.get("duration_s")

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            visit_id = linked_visit(conn, body.get("visit_id"))
            optional = {} if duration_s is None else {"duration_s": duration_s}
            data = DoorEventData(
                **optional,
                door=body["door"],
                kind=body["kind"],
                visit_id=visit_id,
                occurred_at=occurred_at or format_time(utc_now()),
                by=by.ref,
            )
            reason = text_pii(reason=body.get("reason"))
            self.writer.append(conn, "door.event", event_id, data, reason)
            door = {**self.get(event_id, conn), "incident_id": None}
            severity = self._incident_severity(body["kind"], duration_s)
            if severity:
                opened = utc_now()
                incident_id = new_id()
                open_own_incident(
                    self.book,
                    conn,
                    incident_id,
                    category="security",
                    severity=Severity(severity),
                    title=f"Door {body['door']}: {body['kind']}",
                    description=f"door event {event_id} at {data.occurred_at}"
                    + (f", open for {duration_s:.0f} s" if duration_s is not None else ""),
                    location=body["door"],
                    visit_id=visit_id,
                    channel=Channel.other,
                    by=by.ref,
                    at=opened,
                )
                door["incident_id"] = incident_id
            return door

        return await self.writer.run(work)

    def _incident_severity(self, kind: str, duration_s: float | None) -> str | None:
        policy = self.book.door_policy
        if kind == "forced":
            return policy.forced_severity
        if kind == "held_open" and (duration_s is None or duration_s >= policy.held_open_limit_s):
            return policy.held_open_severity
        return None

    def get(self, event_id: str, conn: sqlite3.Connection | None = None) -> dict[str, Any]:
        row = (
            (conn or self.book.reader)
            .execute("SELECT * FROM door_events WHERE id = ?", (event_id,))
            .fetchone()
        )
        if row is None:
            raise errors.NotFound(f"no door event {event_id}", loc=("path", "id"))
        return {"site": self.book.site, "device": self.book.device, **dict(row)}
