"""The hub's watch list on this post: applying a new version, and matching a visitor to it."""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from schemas.ids import new_id
from schemas.models import Channel, Severity, VisitPii, WatchlistAppliedData
from schemas.privacy import key_id, normalise_name

from ..privacy import incident_pii
from .actors import SYSTEM
from .family import VersionedFamily
from .own_incidents import open_own_incident

log = logging.getLogger(__name__)


class Watchlist(VersionedFamily):
    """`book.watchlist`: the entries registrations are matched against."""

    message_type = "watchlist"

    def apply_now(self, message: dict[str, Any]) -> bool:
        """Replace the watch list with the hub's newer version (applied once per message id;
        the `watchlist.applied` event tells the hub it arrived). True if it was new."""
        version = int(message["version"])
        entries = list(message.get("entries") or [])
        same_key = message.get("key_id") == key_id(self.book.id_key)
        if not same_key:
            log.warning(
                "watch list HMAC key differs from this post's: matching by name only",
                extra={"version": version},
            )

        def replace(conn: sqlite3.Connection) -> None:
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

        def applied(conn: sqlite3.Connection, in_force: int, replaced: bool) -> BaseModel:
            count = conn.execute("SELECT COUNT(*) FROM watchlist").fetchone()[0]
            return WatchlistAppliedData(version=in_force, entries=int(count), by="hub:watchlist")

        return self.apply_version(message, replace, applied)

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

    def open_incident(
        self,
        conn: sqlite3.Connection,
        match: dict[str, Any],
        visit_id: str,
        unit: str,
        visitor: VisitPii,
        now: datetime,
    ) -> None:
        """The incident of a watch-list match: graded as the hub's entry is (severe unless it
        says otherwise), due by the site's deadline for that grade; its title is a code that
        each page words in its language, the visitor's name and the entry's reason (personal
        data) in its `pii`."""
        severity = Severity(match.get("severity") or "severe")
        open_own_incident(
            self.book,
            conn,
            new_id(),
            category="watch_list",
            severity=severity,
            title=unit,
            title_code="watch_list",
            visit_id=visit_id,
            channel=Channel.in_person,
            by=SYSTEM.ref,
            at=now,
            pii=incident_pii({"description": match["reason"]}, visitor.visitor_name),
        )

    def entry(self, entry_id: str) -> dict[str, Any] | None:
        row = self.book.reader.execute(
            "SELECT id, name, reason, severity FROM watchlist WHERE id = ?", (entry_id,)
        ).fetchone()
        return dict(row) if row else None
