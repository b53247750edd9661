"""The hub's roster for this post's site: its guards (name, role, PIN hash, disabled), replaced
as a whole by each newer version. Guards added here by `add-guard` are not the hub's and are
left alone, unless the hub's roster names the same badge: then the hub's record wins."""

from __future__ import annotations

import builtins
import sqlite3
from typing import Any

from pydantic import BaseModel, TypeAdapter

from schemas.ids import format_time, utc_now
from schemas.models import RosterAppliedData, RosterGuard

from .accounts import end_guard_sessions
from .family import VersionedFamily

GUARDS = TypeAdapter(builtins.list[RosterGuard])


class Roster(VersionedFamily):
    """`book.roster`: applying the hub's newer roster versions."""

    message_type = "roster"

    def apply_now(self, message: dict[str, Any]) -> bool:
        """Keep the hub's guards of this version if it is newer than the one here (once per
        message id; the `roster.applied` event tells the hub it arrived): each guard added or
        replaced; a disabled one, or one whose PIN or role changed, loses their sessions; a
        hub guard no longer on the site's roster is disabled here. True if the message was
        new."""
        guards = GUARDS.validate_python(message.get("guards") or [])

        def replace(conn: sqlite3.Connection) -> None:
            now = format_time(utc_now())
            named = {g.badge for g in guards}
            for guard in guards:
                before = conn.execute(
                    "SELECT role, pin_hash, disabled_at FROM guards WHERE badge = ?",
                    (guard.badge,),
                ).fetchone()
                conn.execute(
                    "INSERT INTO guards (badge, name, role, pin_hash, created_at, from_hub,"
                    " disabled_at) VALUES (?, ?, ?, ?, ?, 1, ?) ON CONFLICT (badge) DO UPDATE"
                    " SET name = excluded.name, role = excluded.role,"
                    " pin_hash = excluded.pin_hash, from_hub = 1,"
                    " disabled_at = excluded.disabled_at",
                    (
                        guard.badge,
                        guard.name,
                        guard.role,
                        guard.pin_hash,
                        now,
                        now if guard.disabled else None,
                    ),
                )
                changed = before is not None and (
                    before["role"] != guard.role or before["pin_hash"] != guard.pin_hash
                )
                if guard.disabled or changed:
                    end_guard_sessions(conn, guard.badge)
            gone = [
                r["badge"]
                for r in conn.execute(
                    "SELECT badge FROM guards WHERE from_hub = 1 AND disabled_at IS NULL"
                )
                if r["badge"] not in named
            ]
            for badge in gone:
                conn.execute("UPDATE guards SET disabled_at = ? WHERE badge = ?", (now, badge))
                end_guard_sessions(conn, badge)

        def applied(conn: sqlite3.Connection, in_force: int, replaced: bool) -> BaseModel:
            held, disabled = conn.execute(
                "SELECT COUNT(*), COUNT(disabled_at) FROM guards WHERE from_hub = 1"
            ).fetchone()
            return RosterAppliedData(
                version=in_force, guards=int(held), disabled=int(disabled), by="hub:roster"
            )

        return self.apply_version(message, replace, applied)
