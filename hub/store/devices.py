"""The posts the hub knows: their rows (made on first contact), MQTT accounts, retained
status and its history, the `tampered` flag, and the dashboard's live version."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from schemas.ids import format_time, parse_time, utc_now
from schemas.messages import StatusIn

from .base import StoreBase, site_filter
from .engine import Conn, Row


class Devices(StoreBase):
    """The `devices` and `device_status_log` tables."""

    def _device_row(self, conn: Conn, site: str, device: str) -> Row:
        sql = "SELECT * FROM devices WHERE site = ? AND device = ?"
        row: Row | None = conn.execute(sql, (site, device)).fetchone()
        if row is None:
            conn.execute("INSERT INTO devices (site, device) VALUES (?, ?)", (site, device))
            row = conn.execute(sql, (site, device)).fetchone()
        return row

    def _flag(self, conn: Conn, site: str, device: str, now: str, reason: str) -> None:
        """Mark a device `tampered` (shown on `/devices` and the overview) with the reason."""
        self._device_row(conn, site, device)
        conn.execute(
            "UPDATE devices SET tampered = 1, tampered_at = ?, tampered_reason = ?"
            " WHERE site = ? AND device = ?",
            (now, reason[:300], site, device),
        )

    def flag_device(self, site: str, device: str, reason: str) -> None:
        """Flag a device outside ingest (an unreadable status message)."""
        with self.transaction() as conn:
            self._flag(conn, site, device, format_time(utc_now()), reason)

    def record_statuses(self, statuses: list[tuple[str, str, StatusIn]]) -> list[tuple[str, str]]:
        """Devices' retained statuses (read by `schemas.messages.read_status`; the newest of
        each device), in one transaction: online, how far it is, its clock offset. Answers the
        devices that were not online before (they get what waits for them)."""
        now = utc_now()
        came_online = []
        # these posts' rows only: beside other posts' ingests on PostgreSQL
        with self.db.transaction(devices=[(site, device) for site, device, _ in statuses]) as conn:
            for site, device, status in statuses:
                was = self._device_row(conn, site, device)["online"]
                if self._record_status(conn, site, device, status, now) and not was:
                    came_online.append((site, device))
        return came_online

    def _record_status(
        self, conn: Conn, site: str, device: str, status: StatusIn, now: datetime
    ) -> bool:
        offset = None
        if status.clock is not None:
            offset = round((parse_time(status.clock) - now).total_seconds(), 3)
        online = 1 if status.online else 0
        last = conn.execute(
            "SELECT online FROM device_status_log WHERE site = ? AND"
            " device = ? ORDER BY at DESC LIMIT 1",
            (site, device),
        ).fetchone()
        if last is None or last["online"] != online:  # the history uptime is counted from
            conn.execute(
                "INSERT INTO device_status_log VALUES (?, ?, ?, ?)",
                (site, device, format_time(now), online),
            )
        conn.execute(
            "UPDATE devices SET online = ?, reported_last_seq = CASE WHEN reported_last_seq < ?"
            " THEN ? ELSE reported_last_seq END,"
            " clock_offset_s = COALESCE(?, clock_offset_s), version = ?, last_seen = ?,"
            " disk_free_mb = COALESCE(?, disk_free_mb) WHERE site = ? AND device = ?",
            (
                online,
                status.last_seq,
                status.last_seq,
                offset,
                status.version,
                format_time(now),
                status.disk_free_mb,
                site,
                device,
            ),
        )
        return bool(online)

    # ---- devices and MQTT accounts ----------------------------------------------------------

    def provision_device(self, site: str, device: str, username: str, mqtt_hash: str) -> None:
        with self.transaction() as conn:
            self._device_row(conn, site, device)
            conn.execute(
                "UPDATE devices SET mqtt_username = ?, mqtt_hash = ?, provisioned_at = ?"
                " WHERE site = ? AND device = ?",
                (username, mqtt_hash, format_time(utc_now()), site, device),
            )

    def mqtt_accounts(self) -> list[dict[str, Any]]:
        rows = self._read.execute(
            "SELECT site, device, mqtt_username, mqtt_hash FROM devices"
            " WHERE mqtt_username IS NOT NULL ORDER BY site, device"
        )
        return [dict(r) for r in rows]

    def list_devices(self, sites: list[str] | None) -> list[dict[str, Any]]:
        rows = self._read.execute("SELECT * FROM devices ORDER BY site, device").fetchall()
        return [
            {
                "site": r["site"],
                "device": r["device"],
                "online": bool(r["online"]),
                "last_seen": r["last_seen"],
                "acked_seq": r["acked_seq"],
                "backlog": max(0, r["reported_last_seq"] - r["acked_seq"]),
                "clock_offset_s": r["clock_offset_s"],
                "tampered": bool(r["tampered"]),
                "tampered_reason": r["tampered_reason"],
                "version": r["version"] or None,
                "disk_free_mb": r["disk_free_mb"],
            }
            for r in rows
            if sites is None or r["site"] in sites
        ]

    # ---- reads for the API ------------------------------------------------------------------

    def device_events(self, site: str, device: str, after: int, limit: int) -> list[dict[str, Any]]:
        """A device's events with seq > `after`, in seq order, as stored (the `pii` purged here
        is null): what a replacement post restores from (`guardpost-edge restore`)."""
        rows = self._read.execute(
            "SELECT seq, id, type, at, record_id, data, pii, pii_digest, prev_hash, hash"
            " FROM events WHERE site = ? AND device = ? AND seq > ? ORDER BY seq LIMIT ?",
            (site, device, after, limit),
        )
        return [
            {
                **dict(r),
                "data": json.loads(r["data"]),
                "pii": None if r["pii"] is None else json.loads(r["pii"]),
            }
            for r in rows
        ]

    def live_version(self, sites: list[str] | None) -> str:
        """Changes whenever something a dashboard shows does: events, acks, a device going
        on- or offline or being marked tampered, an entry made at the hub."""
        sql, args = (
            "SELECT COUNT(*), COALESCE(SUM(acked_seq), 0), COALESCE(SUM(online), 0),"
            " COALESCE(SUM(tampered), 0), COALESCE(SUM(reported_last_seq), 0)"
            " FROM devices WHERE 1=1",
            list[Any](),
        )
        sql, args = site_filter(sql, args, sites)
        row = self._read.execute(sql, args).fetchone()
        entries = self._read.execute("SELECT COUNT(*) FROM incident_entries").fetchone()[0]
        return ":".join(str(v) for v in (*tuple(row), entries))
