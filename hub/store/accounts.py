"""The hub's users, their sessions, and the login failures that lock an account out."""

from __future__ import annotations

from typing import Any

from schemas.ids import format_time, utc_now

from .base import StoreBase


class Accounts(StoreBase):
    """The `users`, `sessions` and `login_failures` tables."""

    def add_user(self, username: str, password_hash: str, role: str, sites: str) -> bool:
        with self.transaction() as conn:
            exists = conn.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone()
            conn.execute(
                "INSERT INTO users (username, password_hash, role, sites, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (username) DO UPDATE SET"
                " password_hash = excluded.password_hash, role = excluded.role,"
                " sites = excluded.sites",
                (username, password_hash, role, sites, format_time(utc_now())),
            )
        return exists is None

    def get_user(self, username: str) -> dict[str, Any] | None:
        row = self._read.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
        return dict(row) if row else None

    def assignees(self, site: str) -> list[str]:
        """The hub users an incident of `site` may be assigned to: its supervisors and every
        manager (`hub.commands.check_assignee` holds the same rule)."""
        rows = self._read.execute(
            "SELECT username, role, sites FROM users WHERE role IN ('supervisor', 'manager')"
            " ORDER BY username"
        )
        return [
            r["username"]
            for r in rows
            if r["role"] == "manager" or site in str(r["sites"] or "").split(",")
        ]

    def recent_failures(self, username: str, since: str) -> int:
        return int(
            self._read.execute(
                "SELECT COUNT(*) FROM login_failures WHERE username = ? AND at >= ?",
                (username, since),
            ).fetchone()[0]
        )

    def reserve_login_attempt(self, username: str, since: str, limit: int) -> bool:
        """Count a login as failed before its password is checked, in one write transaction
        with the count (BEGIN IMMEDIATE: atomic across threads and processes on this file), so
        at most `limit` passwords are checked per window however many logins run at once.
        False (nothing stored) when `limit` failures since `since` are already there. Older
        failures are dropped here, so the table holds one window at most."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM login_failures WHERE at < ?", (since,))
            (failures,) = conn.execute(
                "SELECT COUNT(*) FROM login_failures WHERE username = ? AND at >= ?",
                (username, since),
            ).fetchone()
            if failures >= limit:
                return False
            conn.execute(
                "INSERT INTO login_failures VALUES (?, ?)", (username, format_time(utc_now()))
            )
            return True

    def login_succeeded(self, username: str, token_hash: str, expires_at: str) -> None:
        """The password was right: the user's failures go and the session starts, at once."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM login_failures WHERE username = ?", (username,))
            conn.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?, NULL)",
                (token_hash, username, format_time(utc_now()), expires_at),
            )

    def add_session(self, token_hash: str, username: str, expires_at: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?, NULL)",
                (token_hash, username, format_time(utc_now()), expires_at),
            )

    def find_session(self, token_hash: str) -> dict[str, Any] | None:
        row = self._read.execute(
            "SELECT u.username, u.role, u.sites FROM sessions s JOIN users u"
            " ON u.username = s.username WHERE s.token_hash = ? AND s.revoked_at IS NULL"
            " AND s.expires_at > ?",
            (token_hash, format_time(utc_now())),
        ).fetchone()
        return dict(row) if row else None

    def revoke_session(self, token_hash: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE sessions SET revoked_at = ? WHERE token_hash = ?",
                (format_time(utc_now()), token_hash),
            )

    def revoke_user_sessions(self, username: str) -> int:
        with self.transaction() as conn:
            cursor = conn.execute(
                "UPDATE sessions SET revoked_at = ? WHERE username = ? AND revoked_at IS NULL",
                (format_time(utc_now()), username),
            )
            return cursor.rowcount
