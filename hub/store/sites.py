"""Sites: each site's record (name, time zone, kind), and the settings and the directory the hub
sends its posts, each as a versioned down message per site (`Outbox._queue_versioned`, like the
watch list)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from schemas.ids import format_time, utc_now

from .engine import Conn
from .outbox import Outbox


class Sites(Outbox):
    """The `sites`, `site_settings` and `site_directory` tables."""

    def site_names(self, conn: Conn | None = None) -> list[str]:
        """Every site the hub knows: one with a record, or one with a post."""
        conn = conn or self._read
        rows = conn.execute("SELECT site FROM sites UNION SELECT site FROM devices ORDER BY 1")
        return [r[0] for r in rows]

    def list_sites(self, sites: list[str] | None) -> list[dict[str, Any]]:
        """The sites among `sites` (None: all), each with its settings and their version."""
        return [
            self._site(self._read, name)
            for name in self.site_names()
            if sites is None or name in sites
        ]

    def get_site(self, site: str) -> dict[str, Any] | None:
        if site not in self.site_names():
            return None
        return self._site(self._read, site)

    def shown_names(self) -> dict[str, str]:
        """How the sites with a record are shown (the pages show the others by their slug)."""
        return {r["site"]: r["name"] for r in self._read.execute("SELECT site, name FROM sites")}

    def _site(self, conn: Conn, site: str) -> dict[str, Any]:
        record = conn.execute("SELECT * FROM sites WHERE site = ?", (site,)).fetchone()
        settings = conn.execute(
            "SELECT version, settings FROM site_settings WHERE site = ?", (site,)
        ).fetchone()
        return {
            "site": site,
            "name": record["name"] if record else site,
            "timezone": record["timezone"] if record else None,
            "kind": record["kind"] if record else None,
            "settings": json.loads(settings["settings"]) if settings else {},
            "version": settings["version"] if settings else 0,
        }

    def put_site(self, site: str, record: dict[str, Any], by: str) -> dict[str, Any]:
        """Create or replace a site's record; its posts get the name with a new settings
        version."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO sites (site, name, timezone, kind, updated_at, by)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (site) DO UPDATE SET"
                " name = excluded.name, timezone = excluded.timezone, kind = excluded.kind,"
                " updated_at = excluded.updated_at, by = excluded.by",
                (site, record["name"], record["timezone"], record["kind"], _now(), by),
            )
            self._bump_settings(conn, site, {}, by)
            return self._site(conn, site)

    def put_settings(self, site: str, given: dict[str, Any], by: str) -> dict[str, Any]:
        """Merge `given` (a subset; deadlines per grade) into the site's settings, and queue
        the new version for every post of the site."""
        with self.transaction() as conn:
            self._bump_settings(conn, site, given, by)
            return self._site(conn, site)

    def _bump_settings(self, conn: Conn, site: str, given: dict[str, Any], by: str) -> None:
        current = self._site(conn, site)
        merged = {**current["settings"], **given}
        if "deadlines_h" in given:
            merged["deadlines_h"] = {
                **current["settings"].get("deadlines_h", {}),
                **given["deadlines_h"],
            }
        conn.execute(
            "INSERT INTO site_settings (site, version, settings, updated_at, by)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (site) DO UPDATE SET version = excluded.version,"
            " settings = excluded.settings, updated_at = excluded.updated_at, by = excluded.by",
            (site, current["version"] + 1, json.dumps(merged, sort_keys=True), _now(), by),
        )
        self._queue_for_posts(conn, site, self._queue_settings)

    def _queue_settings(self, conn: Conn, site: str, device: str) -> None:
        current = self._site(conn, site)
        self._queue_versioned(
            conn,
            site,
            device,
            "settings",
            current["version"],
            {
                "name": current["name"],
                "timezone": current["timezone"],
                "settings": current["settings"],
            },
        )

    def directory(self, site: str, conn: Conn | None = None) -> dict[str, Any]:
        """The site's directory as the hub last sent it: `{"version", "units": [...]}`."""
        conn = conn or self._read
        row = conn.execute(
            "SELECT version, units FROM site_directory WHERE site = ?", (site,)
        ).fetchone()
        if row is None:
            return {"version": 0, "units": []}
        return {"version": row["version"], "units": json.loads(row["units"])}

    def put_units(self, site: str, units: list[dict[str, Any]], by: str) -> dict[str, Any]:
        """Replace the site's directory; the new version goes to every post of the site."""
        with self.transaction() as conn:
            version = self.directory(site, conn)["version"] + 1
            conn.execute(
                "INSERT INTO site_directory (site, version, units, updated_at, by)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (site) DO UPDATE SET"
                " version = excluded.version, units = excluded.units,"
                " updated_at = excluded.updated_at, by = excluded.by",
                (site, version, json.dumps(units, ensure_ascii=False), _now(), by),
            )
            self._queue_for_posts(conn, site, self._queue_directory)
            return self.directory(site, conn)

    def _queue_directory(self, conn: Conn, site: str, device: str) -> None:
        current = self.directory(site, conn)
        self._queue_versioned(
            conn, site, device, "directory", current["version"], {"units": current["units"]}
        )

    def _queue_for_posts(
        self,
        conn: Conn,
        site: str,
        queue: Callable[[Conn, str, str], None],
    ) -> None:
        """`queue(conn, site, device)` for every post of the site: its new version to each."""
        for row in conn.execute("SELECT device FROM devices WHERE site = ?", (site,)).fetchall():
            queue(conn, site, row["device"])

    def applied_versions(self, site: str) -> dict[str, dict[str, int]]:
        """Which version of the settings, directory, roster and patrol rounds each post of the
        site says it applied (its `*.applied` events that reached the hub): `{device:
        {"settings": n, "directory": n, "roster": n, "patrols": n}}`, 0 for none yet."""
        none = {"settings": 0, "directory": 0, "roster": 0, "patrols": 0}
        applied: dict[str, dict[str, int]] = {
            r["device"]: dict(none)
            for r in self._read.execute("SELECT device FROM devices WHERE site = ?", (site,))
        }
        version = self.db.json_text("data", "version")
        rows = self._read.execute(
            f"SELECT device, type, MAX(CAST({version} AS INTEGER)) AS n"
            " FROM events WHERE site = ? AND type IN"
            " ('settings.applied', 'directory.applied', 'roster.applied', 'patrols.applied')"
            " GROUP BY device, type",
            (site,),
        )
        for row in rows:
            kind = row["type"].removesuffix(".applied")
            applied.setdefault(row["device"], dict(none))
            applied[row["device"]][kind] = row["n"] or 0
        return applied

    def queue_current(self, site: str, device: str) -> None:
        """Make sure a post has the current watch list and its site's settings and directory
        on their way (a new post, or one that was away for several versions)."""
        with self.transaction() as conn:
            self._queue_watchlist(conn, site, device)
            self._queue_settings(conn, site, device)
            self._queue_directory(conn, site, device)


def _now() -> str:
    return format_time(utc_now())
