"""Commands the hub sends to a post about one of its incidents (CONTRACT section 8): a status
change, an assignment or a re-grade. Each is kept with what became of it (pending until the
post's event that carries it out or refuses it arrives, `projection.settle_command`) and waits
in the outbox until then, so a post that is offline for days gets it when it is back."""

from __future__ import annotations

from typing import Any

from schemas.canonical import canonical_json
from schemas.ids import format_time, new_id, utc_now

from .base import StoreBase
from .engine import Row

# the field of the down message that carries each action's value
VALUE_FIELD = {"status": "status", "assign": "assignee", "severity": "severity"}


class Commands(StoreBase):
    """The `commands` table (and the `outbox` rows that take them to the posts)."""

    def add_command(
        self,
        incident: dict[str, Any],
        action: str,
        value: str,
        reason: str | None,
        author: str,
        role: str,
    ) -> dict[str, Any]:
        """Record a command and queue it for the incident's post; answers its state."""
        command_id, now = new_id(), format_time(utc_now())
        payload = {
            "type": "command",
            "id": command_id,
            "site": incident["site"],
            "device": incident["device"],
            "incident_id": incident["id"],
            "action": action,
            VALUE_FIELD[action]: value,
            "reason": reason,
            "by": author,
            "role": role,
            "at": now,
        }
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO commands (id, incident_id, site, device, action, value, reason,"
                " author, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    command_id,
                    incident["id"],
                    incident["site"],
                    incident["device"],
                    action,
                    value,
                    reason,
                    author,
                    now,
                ),
            )
            conn.execute(
                "INSERT INTO outbox (id, site, device, payload, created_at) VALUES (?, ?, ?, ?, ?)",
                (
                    command_id,
                    incident["site"],
                    incident["device"],
                    canonical_json(payload).decode(),
                    now,
                ),
            )
        command = self.get_command(command_id)
        assert command is not None
        return command

    def get_command(self, command_id: str) -> dict[str, Any] | None:
        row = self._read.execute("SELECT * FROM commands WHERE id = ?", (command_id,)).fetchone()
        return None if row is None else command_out(row)


def command_out(row: Row) -> dict[str, Any]:
    """A command as `schemas.records.CommandState` (with its site, for scoping)."""
    rejected = row["state"] == "rejected"
    return {
        "command_id": row["id"],
        "incident_id": row["incident_id"],
        "site": row["site"],
        "action": row["action"],
        "value": row["value"],
        "reason": row["state_reason"] if rejected else row["reason"],
        "author": row["author"],
        "created_at": row["created_at"],
        "state": row["state"],
        "settled_at": row["settled_at"],
    }
