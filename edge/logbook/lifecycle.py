"""What may happen to an incident once it is open: one step along open -> acknowledged ->
in_progress -> resolved -> closed (a complaint closes after its follow-up and summary, and each
grade is closed by whom the manuals say, `schemas.grading`), a new assignee, a new grade.

Each function runs inside the writer's work, checks the record first and appends one event or
raises; a guard at the tablet and a command from the hub (`commands.py`) go through the same
checks, so the post answers both alike."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from schemas.grading import may_close, next_status, refusal
from schemas.ids import format_time, parse_time
from schemas.models import (
    IncidentAssignedData,
    IncidentSeverityData,
    IncidentStatus,
    IncidentStatusData,
    Severity,
)
from service import errors

from ..privacy import text_pii
from .actors import Actor
from .writer import Writer


def incident_row(conn: sqlite3.Connection, incident_id: str) -> sqlite3.Row:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM incidents WHERE id = ?", (incident_id,)
    ).fetchone()
    if row is None:
        raise errors.NotFound(f"no incident {incident_id}", loc=("path", "id"))
    return row


def change_status(
    writer: Writer,
    conn: sqlite3.Connection,
    incident_id: str,
    status: str,
    by: Actor,
    *,
    reason: str | None = None,
    command_id: str | None = None,
) -> None:
    """Move the incident one step. The record's state is checked first (409), then who may
    (403): only a supervisor closes, and only the grades the manuals give them."""
    row = incident_row(conn, incident_id)
    current, allowed = row["status"], next_status(row["status"])
    if status != allowed:
        raise errors.TransitionForbidden(
            f"cannot go from {current} to {status}"
            + (f"; next is {allowed}" if allowed else "; the incident is closed")
        )
    if status == "closed" and row["category"] == "complaint":
        kinds = {
            kind
            for (kind,) in conn.execute(
                "SELECT DISTINCT kind FROM incident_entries WHERE incident_id = ?", (incident_id,)
            )
        }
        missing = [kind for kind in ("follow_up", "summary") if kind not in kinds]
        if missing:
            raise errors.TransitionForbidden(
                "a complaint closes only after its " + " and ".join(missing) + " entry"
            )
    if status == "closed" and not may_close(row["severity"], by.kind, by.role):
        raise errors.Forbidden(refusal(row["severity"]))
    from_hub = {"command_id": command_id} if command_id else {}  # only what was given
    data = IncidentStatusData(
        status=IncidentStatus(status), previous=current, by=by.ref, **from_hub
    )
    writer.append(conn, "incident.status", incident_id, data, text_pii(reason=reason))


def assign(
    writer: Writer,
    conn: sqlite3.Connection,
    incident_id: str,
    assignee: str,
    by: Actor,
    command_id: str | None,
) -> None:
    """Make a hub user the incident's assignee (not once it is closed)."""
    row = incident_row(conn, incident_id)
    if row["status"] == "closed":
        raise errors.TransitionForbidden("the incident is closed")
    if row["assignee"] == assignee:
        raise errors.TransitionForbidden(f"the incident is assigned to {assignee} already")
    writer.append(
        conn,
        "incident.assigned",
        incident_id,
        IncidentAssignedData(
            assignee=assignee, previous=row["assignee"], command_id=command_id, by=by.ref
        ),
    )


def regrade(
    writer: Writer,
    conn: sqlite3.Connection,
    deadlines_h: dict[str, float],
    incident_id: str,
    severity: str,
    reason: str,
    by: Actor,
    command_id: str | None,
) -> None:
    """Give the incident another grade; its `due_at` becomes its opening time plus the new
    grade's deadline (not once it is resolved or closed)."""
    row = incident_row(conn, incident_id)
    if row["status"] in ("resolved", "closed"):
        raise errors.TransitionForbidden(f"the incident is {row['status']}")
    if row["severity"] == severity:
        raise errors.TransitionForbidden(f"the incident is {severity} already")
    due_at = parse_time(row["opened_at"]) + timedelta(hours=deadlines_h[severity])
    writer.append(
        conn,
        "incident.severity",
        incident_id,
        IncidentSeverityData(
            severity=Severity(severity),
            previous=Severity(row["severity"]),
            due_at=format_time(due_at),
            command_id=command_id,
            by=by.ref,
        ),
        text_pii(reason=reason),
    )
