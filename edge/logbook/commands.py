"""Commands from the hub (CONTRACT section 8): a hub supervisor or manager moves an incident
along, assigns it or re-grades it. The post stays the only writer of its logbook: it carries a
command out as its own event, with the hub user as the author and the command's id in it, or
records a `command.rejected` event with the reason. Either way the hub learns the outcome from
the event, and a command that arrives again (the hub resends until it hears) is applied once."""

from __future__ import annotations

import sqlite3
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.fields import IncidentStatus, Severity
from schemas.models import CommandRejectedData
from service import errors

from . import lifecycle
from .actors import Actor
from .family import Family


class Command(BaseModel):
    """A `command` message on `{site}/down`, as the hub sends it."""

    model_config = ConfigDict(extra="ignore")

    id: Annotated[str, Field(min_length=1, max_length=64)]
    incident_id: Annotated[str, Field(min_length=1, max_length=64)]
    action: Literal["status", "assign", "severity"]
    status: IncidentStatus | None = None
    assignee: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    severity: Severity | None = None
    reason: Annotated[str, Field(max_length=2000)] | None = None
    by: Annotated[str, Field(pattern=r"^hub:.{1,64}$")]
    role: Literal["supervisor", "manager"]


class HubCommands(Family):
    """`book.commands`: what the hub asks of this post's incidents."""

    def apply_now(self, message: dict[str, Any]) -> bool:
        """Carry out (or refuse) one command, once by its id; True if it was new."""
        try:
            command = Command.model_validate(message)
        except ValidationError as exc:
            raise ValueError(f"not a command: {exc.error_count()} errors") from None
        by = Actor("hub", command.by.removeprefix("hub:"), role=command.role)

        def work(conn: sqlite3.Connection) -> bool:
            seen = conn.execute(
                "SELECT 1 FROM incident_changes WHERE command_id = ?", (command.id,)
            ).fetchone()
            if seen:
                return False
            try:
                self._carry_out(conn, command, by)
            except (errors.TransitionForbidden, errors.Forbidden, errors.NotFound) as refused:
                self.writer.append(
                    conn,
                    "command.rejected",
                    command.incident_id,
                    CommandRejectedData(
                        command_id=command.id,
                        action=command.action,
                        reason=str(refused),
                        by=by.ref,
                    ),
                )
            return True

        return self.writer.write(work)

    def _carry_out(self, conn: sqlite3.Connection, command: Command, by: Actor) -> None:
        if command.action == "status" and command.status is not None:
            lifecycle.change_status(
                self.writer,
                conn,
                command.incident_id,
                command.status.value,
                by,
                reason=command.reason,
                command_id=command.id,
            )
        elif command.action == "assign" and command.assignee is not None:
            lifecycle.assign(
                self.writer, conn, command.incident_id, command.assignee, by, command.id
            )
        elif command.action == "severity" and command.severity is not None and command.reason:
            lifecycle.regrade(
                self.writer,
                conn,
                self.book.deadlines_h,
                command.incident_id,
                command.severity.value,
                command.reason,
                by,
                command.id,
            )
        else:
            raise errors.TransitionForbidden(f"a {command.action} command without its value")
