"""The guards the hub manages, and each site's roster: every change to a guard is a new roster
version for each of their sites, sent to that site's posts as a versioned down message
(`Outbox._queue_versioned`, like the settings and the directory)."""

from __future__ import annotations

import json
from typing import Any

from schemas.ids import format_time, utc_now

from .engine import Conn
from .sites import Sites


class Guards(Sites):
    """The `guards` and `site_roster` tables."""

    def list_guards(self, sites: list[str] | None, site: str | None) -> list[dict[str, Any]]:
        """The guards of `site` (None: any) who work at one of `sites` (None: all), without
        their PIN's hash."""
        rows = self._read.execute(
            "SELECT badge, name, role, sites, disabled_at FROM guards ORDER BY badge"
        )
        guards = []
        for row in rows:
            theirs = json.loads(row["sites"])
            if site is not None and site not in theirs:
                continue
            if sites is not None and not set(theirs) & set(sites):
                continue
            guards.append(
                {
                    "badge": row["badge"],
                    "name": row["name"],
                    "role": row["role"],
                    "sites": theirs,
                    "disabled": row["disabled_at"] is not None,
                }
            )
        return guards

    def has_guard(self, badge: str) -> bool:
        return bool(self._read.execute("SELECT 1 FROM guards WHERE badge = ?", (badge,)).fetchone())

    def add_guard(self, guard: dict[str, Any], by: str) -> bool:
        """Add a guard (`pin_hash`, never the PIN); a new roster version for each of their
        sites. False if the badge exists."""
        with self.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO guards (badge, name, role, pin_hash, sites, created_at, by)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    guard["badge"],
                    guard["name"],
                    guard["role"],
                    guard["pin_hash"],
                    json.dumps(guard["sites"]),
                    format_time(utc_now()),
                    by,
                ),
            )
            if not cursor.rowcount:
                return False
            for site in guard["sites"]:
                self._bump_roster(conn, site)
            return True

    def disable_guard(self, badge: str, reason: str | None) -> list[str] | None:
        """Disable a guard at every post of their sites (a new roster version for each): the
        sites, or None if there is no such guard. Disabling twice changes nothing more."""
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT sites, disabled_at FROM guards WHERE badge = ?", (badge,)
            ).fetchone()
            if row is None:
                return None
            sites: list[str] = json.loads(row["sites"])
            if row["disabled_at"] is None:
                conn.execute(
                    "UPDATE guards SET disabled_at = ?, disabled_reason = ? WHERE badge = ?",
                    (format_time(utc_now()), reason, badge),
                )
                for site in sites:
                    self._bump_roster(conn, site)
            return sites

    def guard_sites(self, badge: str) -> list[str] | None:
        row = self._read.execute("SELECT sites FROM guards WHERE badge = ?", (badge,)).fetchone()
        return json.loads(row["sites"]) if row else None

    def roster(self, site: str, conn: Conn | None = None) -> dict[str, Any]:
        """The site's roster as its posts get it: `{"version", "guards": [...]}` with hashes."""
        conn = conn or self._read
        row = conn.execute("SELECT version FROM site_roster WHERE site = ?", (site,)).fetchone()
        guards = [
            {
                "badge": g["badge"],
                "name": g["name"],
                "role": g["role"],
                "pin_hash": g["pin_hash"],
                "disabled": g["disabled_at"] is not None,
            }
            for g in conn.execute(
                f"SELECT g.* FROM guards g, {self.db.json_list('g.sites', 's')} WHERE s.value = ?"
                " ORDER BY g.badge",
                (site,),
            )
        ]
        return {"version": row["version"] if row else 0, "guards": guards}

    def _bump_roster(self, conn: Conn, site: str) -> None:
        conn.execute(
            "INSERT INTO site_roster (site, version) VALUES (?, 1)"
            " ON CONFLICT (site) DO UPDATE SET version = site_roster.version + 1",
            (site,),
        )
        self._queue_for_posts(conn, site, self._queue_roster)

    def _queue_roster(self, conn: Conn, site: str, device: str) -> None:
        current = self.roster(site, conn)
        self._queue_versioned(
            conn, site, device, "roster", current["version"], {"guards": current["guards"]}
        )

    def queue_current(self, site: str, device: str) -> None:
        """As `Sites.queue_current`, and the site's roster too."""
        super().queue_current(site, device)
        with self.transaction() as conn:
            self._queue_roster(conn, site, device)
