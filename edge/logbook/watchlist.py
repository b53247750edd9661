"""The hub's watch list on this post: applying a new version, and matching a visitor to it."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from schemas.models import WatchlistAppliedData
from schemas.privacy import key_id, normalise_name

from .family import Family

log = logging.getLogger(__name__)


class Watchlist(Family):
    """`book.watchlist`: the entries registrations are matched against."""

    def apply_now(self, message: dict[str, Any]) -> bool:
        """Replace the watch list with the hub's newer version (applied once per message id;
        the `watchlist.applied` event tells the hub it arrived). True if it was new."""
        message_id, version = str(message["id"]), int(message["version"])
        entries = list(message.get("entries") or [])
        same_key = message.get("key_id") == key_id(self.book.id_key)
        if not same_key:
            log.warning(
                "watch list HMAC key differs from this post's: matching by name only",
                extra={"version": version},
            )

        def work(conn: sqlite3.Connection) -> bool:
            if conn.execute(
                "SELECT 1 FROM events WHERE record_id = ? AND type = 'watchlist.applied'",
                (message_id,),
            ).fetchone():
                return False
            stored = conn.execute(
                "SELECT value FROM meta WHERE key = 'watchlist_version'"
            ).fetchone()
            current = int(stored[0]) if stored else 0
            if version > current:
                conn.execute("DELETE FROM watchlist")
                for entry in entries:
                    name = entry.get("name") or None
                    conn.execute(
                        "INSERT INTO watchlist (id, id_hmac, name, name_key, reason, severity)"
                        " VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            str(entry["id"]),
                            entry.get("id_hmac") if same_key else None,
                            name,
                            (normalise_name(name) or None) if name else None,
                            str(entry["reason"]),
                            str(entry.get("severity") or "severe"),
                        ),
                    )
                conn.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('watchlist_version', ?)", (str(version),)
                )
            self.writer.append(
                conn,
                "watchlist.applied",
                message_id,
                WatchlistAppliedData(
                    version=max(version, current),
                    entries=len(entries)
                    if version > current
                    else int(conn.execute("SELECT COUNT(*) FROM watchlist").fetchone()[0]),
                    by="hub:watchlist",
                ),
            )
            return True

        return self.writer.write(work)

    def match(
        self, conn: sqlite3.Connection, hmac_hex: str | None, visitor_name: str
    ) -> dict[str, Any] | None:
        """The watch-list entry this visitor matches (by ID number's HMAC, or by name)."""
        row = None
        if hmac_hex:
            row = conn.execute("SELECT * FROM watchlist WHERE id_hmac = ?", (hmac_hex,)).fetchone()
        name_key = normalise_name(visitor_name)
        if row is None and name_key:
            row = conn.execute("SELECT * FROM watchlist WHERE name_key = ?", (name_key,)).fetchone()
        return dict(row) if row else None

    def entry(self, entry_id: str) -> dict[str, Any] | None:
        row = self.book.reader.execute(
            "SELECT id, name, reason, severity FROM watchlist WHERE id = ?", (entry_id,)
        ).fetchone()
        return dict(row) if row else None
