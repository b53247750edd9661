"""The site's settings on this post: the hub's versioned values (`settings` messages on the
site's `down` topic) over the post's own CLI/env values, which a post without a hub uses."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from schemas.fields import known_zone
from schemas.models import SettingsAppliedData, SiteSettingsIn

from .family import LogbookParts, VersionedFamily

GRADES = ("minor", "medium", "severe")
MAX_NAME_CHARS = 200


@dataclass(frozen=True)
class LocalSettings:
    """The post's own values (`guardpost-edge serve` flags and `GUARDPOST_` variables)."""

    deadlines_h: dict[str, float] = field(
        default_factory=lambda: {"minor": 72.0, "medium": 24.0, "severe": 1.0}
    )
    retention_days: int = 30
    held_open_s: float = 120.0
    idle_minutes: float = 10.0
    default_lang: str = "zh-Hant"
    patrol_missed_severity: str = "medium"  # CONTRACT 9's default


class SiteSettings(VersionedFamily):
    """`book.settings`: what the post uses now, and applying the hub's newer versions."""

    message_type = "settings"

    def __init__(
        self, book: LogbookParts, local: LocalSettings, others: dict[str, VersionedFamily]
    ) -> None:
        super().__init__(book)
        self.local = local  # the post's own values, until the hub's arrive
        self._zone: ZoneInfo | None = None  # the hub's time zone, once read
        self.others = others  # the roster and the directory: their versions are shown here

    def apply_now(self, message: dict[str, Any]) -> bool:
        """Keep the hub's settings of this version if it is newer than the one here (once per
        message id; the `settings.applied` event tells the hub it arrived). True if new."""
        values = SiteSettingsIn.model_validate(message.get("settings") or {}).given()
        name = message.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS:
            name = None
        kept = {**values, **({"name": name} if name else {})}
        zone = message.get("timezone")
        if isinstance(zone, str) and len(zone) <= 64:
            try:
                kept["timezone"] = known_zone(zone)
            except ValueError:
                pass  # an unknown zone (an older tz database here): the post keeps its own

        def replace(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM hub_settings")
            conn.executemany(
                "INSERT INTO hub_settings (key, value) VALUES (?, ?)",
                [(key, json.dumps(value)) for key, value in kept.items()],
            )

        def applied(conn: sqlite3.Connection, in_force: int, replaced: bool) -> BaseModel:
            held = self.hub_values(conn)
            return SettingsAppliedData(
                version=in_force,
                name=held.pop("name", None),
                settings=held,
                by="hub:settings",
            )

        applied_now = self.apply_version(message, replace, applied)
        self._zone = None  # read again: a newer version may have another time zone
        return applied_now

    def zone(self, local: ZoneInfo) -> ZoneInfo:
        """The site's time zone: the hub's, once delivered, else the post's own (`local`)."""
        if self._zone is None:
            held = self.hub_values().get("timezone")
            self._zone = ZoneInfo(held) if isinstance(held, str) else local
        return self._zone

    def hub_values(self, conn: sqlite3.Connection | None = None) -> dict[str, Any]:
        """The values the hub's last version set (a subset; `name` among them)."""
        conn = conn or self.book.reader
        rows = conn.execute("SELECT key, value FROM hub_settings")
        return {r["key"]: json.loads(r["value"]) for r in rows}

    def effective(self) -> dict[str, Any]:
        """What the post uses now: each value from the hub once delivered, else its own."""
        local = self.local
        held = self.hub_values()
        deadlines = {**local.deadlines_h, **held.get("deadlines_h", {})}
        return {
            "site": self.book.site,
            "name": held.get("name") or self.book.site,
            "deadlines_h": {grade: float(deadlines[grade]) for grade in GRADES},
            "retention_days": int(held.get("retention_days", local.retention_days)),
            "held_open_s": float(held.get("held_open_s", local.held_open_s)),
            "idle_minutes": float(held.get("idle_minutes", local.idle_minutes)),
            "default_lang": str(held.get("default_lang", local.default_lang)),
            "patrol_missed_severity": str(
                held.get("patrol_missed_severity", local.patrol_missed_severity)
            ),
        }  # the time zone is `book.zone`

    def versions(self) -> dict[str, int]:
        """The versions of what the hub sends that this post has applied (0: none)."""
        return {"settings": self.version()} | {
            name: family.version() for name, family in self.others.items()
        }
