"""Messages from the hub down to the posts: a supervisor's entry on an incident, and the watch
list (its entries, its version, and which version each post has on its way)."""

from __future__ import annotations

import json
import secrets
from typing import Any

from schemas.canonical import canonical_json
from schemas.ids import format_time, new_id, utc_now
from schemas.privacy import key_id
from service.sqlite import and_where

from .base import StoreBase
from .engine import Conn
from .schema import ID_KEY_FILE


class Outbox(StoreBase):
    """The `outbox`, `watchlist` and `down_sent` tables."""

    def add_hub_entry(
        self, incident: dict[str, Any], entry: dict[str, Any], payload: dict[str, Any]
    ) -> None:
        """A supervisor's entry: shown at once at the hub, queued for the incident's edge."""
        with self.transaction() as conn:
            self._insert_hub_entry(conn, incident, entry, payload)

    def _insert_hub_entry(
        self,
        conn: Conn,
        incident: dict[str, Any],
        entry: dict[str, Any],
        payload: dict[str, Any],
    ) -> None:
        conn.execute(
            "INSERT INTO incident_entries (id, incident_id, site, device, kind, text, at,"
            " guard, author) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)",
            (
                entry["id"],
                incident["id"],
                incident["site"],
                incident["device"],
                entry["kind"],
                entry["text"],
                entry["at"],
                entry["author"],
            ),
        )
        conn.execute(
            "INSERT INTO outbox (id, site, device, payload, created_at) VALUES (?, ?, ?, ?, ?)",
            (
                entry["id"],
                incident["site"],
                incident["device"],
                canonical_json(payload).decode(),
                entry["at"],
            ),
        )

    def pending_down(
        self, site: str | None = None, device: str | None = None
    ) -> list[dict[str, Any]]:
        args: list[Any] = []
        sql = and_where(
            "SELECT * FROM outbox WHERE delivered_at IS NULL",
            args,
            {"site = ?": site, "device = ?": device},
        )
        rows = self._read.execute(sql + " ORDER BY created_at, id", args)
        return [
            {
                "id": r["id"],
                "site": r["site"],
                "device": r["device"],
                "payload": json.loads(r["payload"]),
            }
            for r in rows
        ]

    # ---- the watch list ----------------------------------------------------------------------

    @property
    def id_key(self) -> bytes:
        """The company's ID-number HMAC key (`provision-device` hands it to each post)."""
        key_file = self.path.parent / ID_KEY_FILE
        if not key_file.exists():  # a hub initialised before the watch list existed
            key_file.touch(mode=0o600)
            key_file.write_bytes(secrets.token_bytes(32))
        return key_file.read_bytes()

    def add_watch_entry(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Add an entry (its ID number already reduced to HMAC and mask) and queue the new
        version of the list for every post."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO watchlist (id, id_hmac, id_number_masked, name, reason, severity,"
                " created_at, by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    entry["id"],
                    entry["id_hmac"],
                    entry["id_number_masked"],
                    entry["name"],
                    entry["reason"],
                    entry["severity"],
                    entry["created_at"],
                    entry["by"],
                ),
            )
            self._bump_watchlist(conn)
        return entry

    def remove_watch_entry(self, entry_id: str) -> bool:
        with self.transaction() as conn:
            cursor = conn.execute(
                "UPDATE watchlist SET removed_at = ? WHERE id = ? AND removed_at IS NULL",
                (format_time(utc_now()), entry_id),
            )
            if cursor.rowcount:
                self._bump_watchlist(conn)
            return cursor.rowcount > 0

    def watchlist(self, conn: Conn | None = None) -> dict[str, Any]:
        conn = conn or self._read
        version = conn.execute("SELECT value FROM meta WHERE key = 'watchlist_version'").fetchone()
        rows = conn.execute(
            "SELECT id, id_hmac, id_number_masked, name, reason, severity,"
            " created_at, by FROM watchlist WHERE removed_at IS NULL"
            " ORDER BY created_at, id"
        )
        return {"version": int(version[0]) if version else 0, "entries": [dict(r) for r in rows]}

    def _bump_watchlist(self, conn: Conn) -> None:
        version = self.watchlist(conn)["version"] + 1
        conn.execute(
            "INSERT INTO meta VALUES ('watchlist_version', ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(version),),
        )
        for row in conn.execute("SELECT site, device FROM devices").fetchall():
            self._queue_watchlist(conn, row["site"], row["device"])

    def _queue_watchlist(self, conn: Conn, site: str, device: str) -> None:
        current = self.watchlist(conn)
        self._queue_versioned(
            conn,
            site,
            device,
            "watchlist",
            current["version"],
            {
                "key_id": key_id(self.id_key),
                "entries": [
                    {k: e[k] for k in ("id", "id_hmac", "name", "reason", "severity")}
                    for e in current["entries"]
                ],
            },
        )

    def forget_sent(self, site: str, device: str) -> None:
        """Forget which versions went to a post (a replacement card has none of them), so
        `queue_current` sends it every current version again."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM down_sent WHERE site = ? AND device = ?", (site, device))

    def _queue_versioned(
        self,
        conn: Conn,
        site: str,
        device: str,
        message_type: str,
        version: int,
        body: dict[str, Any],
    ) -> None:
        """Queue `version` of a versioned down message (the watch list, a site's settings) for
        one post, unless it has it on its way already; an older version still undelivered is
        dropped. The post applies a version once and only if it is newer than its own."""
        sent = conn.execute(
            "SELECT version FROM down_sent WHERE site = ? AND device = ? AND type = ?",
            (site, device, message_type),
        ).fetchone()
        if version == 0 or (sent and sent["version"] >= version):
            return
        now = format_time(utc_now())
        # an older version still on its way is of no use any more
        conn.execute(
            "UPDATE outbox SET delivered_at = ? WHERE site = ? AND device = ? AND"
            f" delivered_at IS NULL AND {self.db.json_text('payload', 'type')} = ?",
            (now, site, device, message_type),
        )
        message_id = new_id()
        payload = {
            **body,
            "type": message_type,
            "id": message_id,
            "site": site,
            "device": device,
            "version": version,
        }
        conn.execute(
            "INSERT INTO outbox (id, site, device, payload, created_at) VALUES (?, ?, ?, ?, ?)",
            (message_id, site, device, canonical_json(payload).decode(), now),
        )
        conn.execute(
            "INSERT INTO down_sent (site, device, type, version) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (site, device, type) DO UPDATE SET version = excluded.version",
            (site, device, message_type, version),
        )


def new_hub_entry(
    incident: dict[str, Any], kind: str, text: str, author: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """An entry made at the hub, and the down message that takes it to the incident's post."""
    entry = {
        "id": new_id(),
        "incident_id": incident["id"],
        "kind": kind,
        "text": text,
        "at": format_time(utc_now()),
        "guard": None,
        "author": author,
    }
    payload = {
        "type": "incident.entry",
        "id": entry["id"],
        "incident_id": incident["id"],
        "site": incident["site"],
        "device": incident["device"],
        "kind": kind,
        "text": text,
        "by": author,
        "at": entry["at"],
    }
    return entry, payload
