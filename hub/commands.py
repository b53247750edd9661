"""What a hub supervisor or manager asks of an incident's post (CONTRACT section 8): move it
along, assign it, re-grade it. The API and the dashboard both come here. The hub checks who may
(an auditor may not; a grade is closed only by whom the manuals say, `schemas.grading`), then
records the command and sends it down; the post decides whether the step is possible and
answers with its own event, which settles the command (`store.projection.settle_command`)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from schemas.grading import may_close, refusal
from service import errors

from .auth import User
from .store import Store


def send_command(
    request: Request,
    incident: dict[str, Any],
    user: User,
    action: str,
    value: str,
    reason: str | None = None,
) -> dict[str, Any]:
    """Check, record and send one command for a visible incident; answers its state."""
    if not user.may_write:
        raise errors.Forbidden("an auditor may read but not act on incidents")
    store: Store = request.app.state.store
    if (
        action == "status"
        and value == "closed"
        and not may_close(incident["severity"], "hub", user.role)
    ):
        raise errors.Forbidden(refusal(incident["severity"]))
    if action == "assign":
        check_assignee(store, incident["site"], value)
    command = store.add_command(incident, action, value, reason or None, user.ref, user.role)
    store.audit(
        user.username,
        f"incident {action}",
        f"incident={incident['id']} {action}={value} command={command['command_id']}",
    )
    ingest = request.app.state.ingest
    if ingest is not None:
        ingest.send_down(incident["site"], incident["device"])
    return command


def check_assignee(store: Store, site: str, username: str) -> None:
    """An incident is assigned to a hub supervisor or manager who may see its site."""
    if username not in store.assignees(site):
        raise errors.InvalidValue(
            f"{username} is not a supervisor or manager of {site}", loc=("body", "assignee")
        )
