"""Patrol rounds at the hub (CONTRACT section 9): each site's checkpoints and rounds; every
change is a new `patrols` version for the site, sent to each of its posts as a versioned down
message (`Outbox._queue_versioned`, like the directory and the roster)."""

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
            "SELECT id, name, location, code FROM checkpoints WHERE site = ? ORDER BY id",
            (site,),
        )
        return [dict(r) for r in rows]

    def rounds(self, site: str, conn: Conn | None = None) -> list[dict[str, Any]]:
        conn = conn or self._read
        rows = conn.execute(
            "SELECT id, name, checkpoints, every_minutes, window_minutes, from_time, to_time"
            " FROM rounds WHERE site = ? ORDER BY id",
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
                (
                    record["id"],
                    site,
                    record["name"],
                    json.dumps(record["checkpoints"]),
                    record["every_minutes"],
                    record["window_minutes"],
                    record["from"],
                    record["to"],
                    _now(),
                    by,
                ),
            )
            self._bump_patrols(conn, site)
        return record

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


def _now() -> str:
    return format_time(utc_now())
