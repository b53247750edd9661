"""Accounts: guards, API keys, sessions and failed logins (`edge.auth` holds the crypto, this
module the rows)."""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

from schemas.ids import format_time, utc_now

from .family import Family, LogbookParts


class Accounts(Family):
    """`book.accounts`: who may use the post, and who is logged in."""

    def __init__(self, book: LogbookParts) -> None:
        super().__init__(book)
        self._version_lock = threading.Lock()
        self._version_conn: sqlite3.Connection | None = None
        self._seen_data_version = -1
        self._sessions_ended = 0

    def add_guard_now(
        self, badge: str, name: str, role: str, pin_hash: str, end_sessions: bool = False
    ) -> tuple[bool, int]:
        """Insert or replace a guard: (True if new, how many sessions ended). `end_sessions`:
        a new PIN or role, so the guard's open sessions end in the same transaction."""

        def work(conn: sqlite3.Connection) -> tuple[bool, int]:
            exists = conn.execute("SELECT 1 FROM guards WHERE badge = ?", (badge,)).fetchone()
            conn.execute(
                "INSERT INTO guards (badge, name, role, pin_hash, created_at)"
                " VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (badge) DO UPDATE SET name = excluded.name, role = excluded.role,"
                " pin_hash = excluded.pin_hash",
                (badge, name, role, pin_hash, format_time(utc_now())),
            )
            return exists is None, end_guard_sessions(conn, badge) if end_sessions else 0

        return self.writer.write(work)

    def get_guard(self, badge: str) -> dict[str, Any] | None:
        """The guard who may log in with `badge`: None if none, or the hub disabled them."""
        row = self.book.reader.execute(
            "SELECT * FROM guards WHERE badge = ? AND disabled_at IS NULL", (badge,)
        ).fetchone()
        return dict(row) if row else None

    def add_api_key_now(self, key_id: str, name: str, scope: str, key_hash: str) -> None:
        self.writer.write(
            lambda conn: conn.execute(
                "INSERT INTO api_keys (id, name, scope, key_hash, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (key_id, name, scope, key_hash, format_time(utc_now())),
            )
        )

    def find_api_key(self, key_hash: str) -> dict[str, Any] | None:
        row = self.book.reader.execute(
            "SELECT * FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL", (key_hash,)
        ).fetchone()
        return dict(row) if row else None

    def recent_failures(self, badge: str, since: str) -> int:
        row = self.book.reader.execute(
            "SELECT COUNT(*) FROM login_failures WHERE badge = ? AND at >= ?", (badge, since)
        ).fetchone()
        return int(row[0])

    def reserve_login_attempt_now(self, badge: str, since: str, limit: int) -> int | None:
        """Count a login for `badge` as failed before its PIN is checked, in the writer's
        transaction, so however many logins run at once at most `limit` are checked per
        window: the reservation's rowid, or None (nothing stored) when `limit` failures since
        `since` are already there. Failures older than `since` are dropped here, so the table
        holds one window at most."""

        def work(conn: sqlite3.Connection) -> int | None:
            conn.execute("DELETE FROM login_failures WHERE at < ?", (since,))
            (failures,) = conn.execute(
                "SELECT COUNT(*) FROM login_failures WHERE badge = ? AND at >= ?", (badge, since)
            ).fetchone()
            if failures >= limit:
                return None
            cursor = conn.execute(
                "INSERT INTO login_failures (badge, at) VALUES (?, ?)",
                (badge, format_time(utc_now())),
            )
            return cursor.lastrowid

        return self.writer.write(work)

    def clear_failures_now(self, badge: str) -> None:
        """The PIN was right (a supervisor's approval): the badge's failures go."""

        def work(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM login_failures WHERE badge = ?", (badge,))

        self.writer.write(work)

    def login_succeeded_now(self, badge: str, token_hash: str, expires_at: str) -> None:
        """The PIN was right: the badge's failures (its reservation too) go, the session
        starts, in one transaction."""

        def work(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM login_failures WHERE badge = ?", (badge,))
            conn.execute(
                "INSERT INTO sessions (token_hash, badge, created_at, expires_at)"
                " VALUES (?, ?, ?, ?)",
                (token_hash, badge, format_time(utc_now()), expires_at),
            )

        self.writer.write(work)

    def find_session(self, token_hash: str) -> dict[str, Any] | None:
        row = self.book.reader.execute(
            "SELECT s.badge, s.expires_at, g.name, g.role FROM sessions s"
            " JOIN guards g ON g.badge = s.badge AND g.disabled_at IS NULL"
            " WHERE s.token_hash = ? AND s.revoked_at IS NULL AND s.expires_at > ?",
            (token_hash, format_time(utc_now())),
        ).fetchone()
        return dict(row) if row else None

    def revoke_session_now(self, token_hash: str) -> None:
        def work(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE sessions SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL",
                (format_time(utc_now()), token_hash),
            )
            _sessions_ended(conn)

        self.writer.write(work)

    def revoke_guard_sessions_now(self, badge: str) -> int:
        return self.writer.write(lambda conn: end_guard_sessions(conn, badge))

    def sessions_version(self) -> int:
        """A number that changes whenever sessions were ended, here or by a CLI in another
        process (a new PIN): `Auth` drops its cache then. Cheap: `PRAGMA data_version` (no
        table read) tells whether anyone committed at all; only then is the count re-read, so
        the guards' own registrations do not empty the cache."""
        with self._version_lock:
            if self._version_conn is None:
                self._version_conn = self.book.readers.open()  # closed with the readers
            data_version = int(self._version_conn.execute("PRAGMA data_version").fetchone()[0])
            if data_version != self._seen_data_version:
                self._seen_data_version = data_version
                row = self._version_conn.execute(
                    "SELECT value FROM meta WHERE key = 'sessions_ended'"
                ).fetchone()
                self._sessions_ended = int(row[0]) if row else 0
            return self._sessions_ended


def end_guard_sessions(conn: sqlite3.Connection, badge: str) -> int:
    """End every open session of one guard, in the caller's transaction; how many."""
    cursor = conn.execute(
        "UPDATE sessions SET revoked_at = ? WHERE badge = ? AND revoked_at IS NULL",
        (format_time(utc_now()), badge),
    )
    _sessions_ended(conn)
    return cursor.rowcount


def _sessions_ended(conn: sqlite3.Connection) -> None:
    """Count, in the transaction that ends them, that sessions ended (`sessions_version`)."""
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('sessions_ended', '1') ON CONFLICT (key)"
        " DO UPDATE SET value = CAST(value AS INTEGER) + 1"
    )
