"""Patrol rounds at the hub (CONTRACT section 9): each site's checkpoints and rounds, added,
changed and removed; every change is a new `patrols` version for the site, sent to each of its
posts as a versioned down message (`Outbox._queue_versioned`, like the directory and the
roster). A removed checkpoint or round keeps its row (`removed_at`) for history; each round's
schedule over time is in `round_schedules` (`PatrolHistory` reads it)."""

from __future__ import annotations

import json
import secrets
from typing import Any

from schemas.ids import format_time, new_id, utc_now

from .engine import Conn
from .guards import Guards

CODE_BYTES = 15  # 20 URL-safe characters: a code cannot be guessed from another one


class Patrols(Guards):
    """The `checkpoints`, `rounds` and `site_patrols` tables."""

    def checkpoints(self, site: str, conn: Conn | None = None) -> list[dict[str, Any]]:
        conn = conn or self._read
        rows = conn.execute(
            "SELECT id, name, location, code FROM checkpoints"
            " WHERE site = ? AND removed_at IS NULL ORDER BY id",
            (site,),
        )
        return [dict(r) for r in rows]

    def rounds(self, site: str, conn: Conn | None = None) -> list[dict[str, Any]]:
        conn = conn or self._read
        rows = conn.execute(
            "SELECT id, name, checkpoints, every_minutes, window_minutes, from_time, to_time"
            " FROM rounds WHERE site = ? AND removed_at IS NULL ORDER BY id",
            (site,),
        )
        return [
            {
                "id": r["id"],
                "name": r["name"],
                "checkpoints": json.loads(r["checkpoints"]),
                "every_minutes": r["every_minutes"],
                "window_minutes": r["window_minutes"],
                "from": r["from_time"],
                "to": r["to_time"],
            }
            for r in rows
        ]

    def add_checkpoint(self, site: str, name: str, location: str | None, by: str) -> dict[str, Any]:
        """A new checkpoint with a random code; a new patrols version for the site's posts."""
        checkpoint = {"id": new_id(), "code": secrets.token_urlsafe(CODE_BYTES)}
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO checkpoints (id, site, name, location, code, created_at, by)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (checkpoint["id"], site, name, location, checkpoint["code"], _now(), by),
            )
            self._bump_patrols(conn, site)
        return checkpoint

    def add_round(self, site: str, body: dict[str, Any], by: str) -> dict[str, Any]:
        """A new round of the site's checkpoints (checked by the caller); a new version."""
        record = {"id": new_id(), **body}
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO rounds (id, site, name, checkpoints, every_minutes, window_minutes,"
                " from_time, to_time, created_at, by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record["id"], site, record["name"], *_schedule(record), _now(), by),
            )
            self._start_schedule(conn, site, record)
            self._bump_patrols(conn, site)
        return record

    def update_checkpoint(
        self, site: str, checkpoint_id: str, name: str, location: str | None
    ) -> dict[str, Any] | None:
        """Rename or move a checkpoint in force (its code stays); None if there is none."""
        with self.transaction() as conn:
            changed = conn.execute(
                "UPDATE checkpoints SET name = ?, location = ?"
                " WHERE id = ? AND site = ? AND removed_at IS NULL",
                (name, location, checkpoint_id, site),
            ).rowcount
            if not changed:
                return None
            self._bump_patrols(conn, site)
            return next(c for c in self.checkpoints(site, conn) if c["id"] == checkpoint_id)

    def remove_checkpoint(self, site: str, checkpoint_id: str) -> bool:
        """Stop sending a checkpoint to the posts (its code no longer scans there); its row
        stays so history keeps its name. False if there is none in force."""
        with self.transaction() as conn:
            removed = conn.execute(
                "UPDATE checkpoints SET removed_at = ?"
                " WHERE id = ? AND site = ? AND removed_at IS NULL",
                (_now(), checkpoint_id, site),
            ).rowcount
            if removed:
                self._bump_patrols(conn, site)
            return bool(removed)

    def update_round(self, site: str, round_id: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """Replace a round in force (checked by the caller): from now on under its new
        schedule; runs before now keep the schedule they had. None if there is none."""
        record = {"id": round_id, **body}
        with self.transaction() as conn:
            before = next((r for r in self.rounds(site, conn) if r["id"] == round_id), None)
            if before is None:
                return None
            conn.execute(
                "UPDATE rounds SET name = ?, checkpoints = ?, every_minutes = ?,"
                " window_minutes = ?, from_time = ?, to_time = ? WHERE id = ? AND site = ?",
                (record["name"], *_schedule(record), round_id, site),
            )
            if {**before, "name": record["name"]} != record:  # more than a new name
                self._end_schedule(conn, round_id)
                self._start_schedule(conn, site, record)
            self._bump_patrols(conn, site)
        return record

    def remove_round(self, site: str, round_id: str) -> bool:
        """Stop the round at the posts; its past runs stay in history. False if none."""
        with self.transaction() as conn:
            removed = conn.execute(
                "UPDATE rounds SET removed_at = ? WHERE id = ? AND site = ? AND removed_at IS NULL",
                (_now(), round_id, site),
            ).rowcount
            if removed:
                self._end_schedule(conn, round_id)
                self._bump_patrols(conn, site)
            return bool(removed)

    def _start_schedule(self, conn: Conn, site: str, record: dict[str, Any]) -> None:
        now = _now()
        conn.execute(  # a schedule that lasted not even a millisecond leaves no trace
            "DELETE FROM round_schedules WHERE round_id = ? AND valid_from = ?",
            (record["id"], now),
        )
        conn.execute(
            "INSERT INTO round_schedules (round_id, site, checkpoints, every_minutes,"
            " window_minutes, from_time, to_time, valid_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (record["id"], site, *_schedule(record), now),
        )

    def _end_schedule(self, conn: Conn, round_id: str) -> None:
        conn.execute(
            "UPDATE round_schedules SET valid_until = ? WHERE round_id = ? AND valid_until IS NULL",
            (_now(), round_id),
        )

    def patrols_version(self, site: str, conn: Conn | None = None) -> int:
        conn = conn or self._read
        row = conn.execute("SELECT version FROM site_patrols WHERE site = ?", (site,)).fetchone()
        return int(row["version"]) if row else 0

    def _bump_patrols(self, conn: Conn, site: str) -> None:
        conn.execute(
            "INSERT INTO site_patrols (site, version) VALUES (?, 1)"
            " ON CONFLICT (site) DO UPDATE SET version = site_patrols.version + 1",
            (site,),
        )
        self._queue_for_posts(conn, site, self._queue_patrols)

    def _queue_patrols(self, conn: Conn, site: str, device: str) -> None:
        self._queue_versioned(
            conn,
            site,
            device,
            "patrols",
            self.patrols_version(site, conn),
            {"checkpoints": self.checkpoints(site, conn), "rounds": self.rounds(site, conn)},
        )

    def queue_current(self, site: str, device: str) -> None:
        """As `Guards.queue_current`, and the site's patrol rounds too."""
        super().queue_current(site, device)
        with self.transaction() as conn:
            self._queue_patrols(conn, site, device)


def _schedule(record: dict[str, Any]) -> tuple[str, int, int, str, str]:
    """A round's columns after its name, in table order: checkpoints (JSON) to `to_time`."""
    return (
        json.dumps(record["checkpoints"]),
        record["every_minutes"],
        record["window_minutes"],
        record["from"],
        record["to"],
    )


def _now() -> str:
    return format_time(utc_now())
