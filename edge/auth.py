"""Who is asking: guards log in with badge + PIN (the login flow of `service.logins`: argon2,
lockout), integrations use scoped API keys. Tokens and keys are stored only as SHA-256 hashes
(`service.passwords`); the rows live in `logbook/accounts.py`."""

from __future__ import annotations

import re
import secrets
import time
from datetime import timedelta
from typing import Any

from schemas.bodies import PIN_RULE
from schemas.ids import new_id, parse_time
from service import errors
from service.logins import Login, new_session
from service.passwords import token_digest

from .logbook import Actor, Logbook

KEY_PREFIX = "gpk_"
SESSION_CACHE_S = 60.0
PIN_PATTERN = re.compile(PIN_RULE)
PIN_LOGIN = Login(
    "badge",
    "pin",
    too_many="too many wrong PINs for this badge; wait 5 minutes",
    wrong="wrong badge or PIN",
)
SCOPES = ("door", "intercom")


def is_valid_pin(pin: str) -> bool:
    return bool(PIN_PATTERN.match(pin))


class Auth:
    """Logins, sessions and API keys of one post."""

    def __init__(self, book: Logbook, session_hours: float = 12.0) -> None:
        self.book = book
        self.session = timedelta(hours=session_hours)
        # token digest -> (guard, valid until, sessions_version when read): saves a query on
        # every request. An entry counts only while the database's version is the one it was
        # read at: any commit since (a logout here, a new PIN or role from the CLI in another
        # process) sends the next request to the sessions table, so an ended session ends at
        # once. Values: (guard, epoch s, version).
        self._sessions: dict[str, tuple[Actor, float, int]] = {}
        self._version = -1

    def _checked(self, badge: str, pin: str) -> dict[str, Any]:
        return PIN_LOGIN.check(
            badge,
            pin,
            reserve=lambda *attempt: (
                self.book.accounts.reserve_login_attempt_now(*attempt) is not None
            ),
            find=self.book.accounts.get_guard,
            hash_of=lambda guard: str(guard["pin_hash"]),
        )

    def approver(self, badge: str, pin: str) -> Actor:
        """A supervisor approving at a guard's tablet with badge + PIN (closing an incident the
        guard may not close): the same check and lockout as a login, but no session starts and
        the guard stays logged in. Forbidden for a guard who is not a supervisor."""
        guard = self._checked(badge, pin)
        self.book.accounts.clear_failures_now(badge)
        if guard["role"] != "supervisor":
            raise errors.Forbidden("only a supervisor may approve", loc=("body", "badge"))
        return Actor("guard", guard["badge"], name=guard["name"], role=guard["role"])

    def login(self, badge: str, pin: str) -> dict[str, Any]:
        """Check badge + PIN (`service.logins`); a new session token, or Unauthorized /
        TooManyAttempts."""
        guard = self._checked(badge, pin)
        token, digest, expires_at = new_session(self.session)
        self.book.accounts.login_succeeded_now(badge, digest, expires_at)
        return {
            "token": token,
            "expires_at": expires_at,
            "guard": {"badge": guard["badge"], "name": guard["name"], "role": guard["role"]},
        }

    def resolve(self, token: str) -> Actor:
        """The guard or key a bearer token belongs to; Unauthorized if none (or expired/revoked)."""
        digest = token_digest(token)
        if token.startswith(KEY_PREFIX):
            key = self.book.accounts.find_api_key(digest)
            if key is not None:
                return Actor("key", key["id"], name=key["name"], scope=key["scope"])
        else:
            version = self.book.accounts.sessions_version()
            if version != self._version:  # nothing read before it is good now
                self._sessions.clear()
                self._version = version
            cached = self._sessions.get(digest)
            if cached is not None and cached[1] > time.time() and cached[2] == version:
                return cached[0]
            session = self.book.accounts.find_session(digest)
            if session is not None:
                actor = Actor("guard", session["badge"], name=session["name"], role=session["role"])
                expires = parse_time(session["expires_at"]).timestamp()
                self._sessions[digest] = (
                    actor,
                    min(time.time() + SESSION_CACHE_S, expires),
                    version,
                )
                return actor
            self._sessions.pop(digest, None)
        raise errors.Unauthorized("invalid or expired token", loc=("header", "Authorization"))

    def logout(self, token: str) -> None:
        digest = token_digest(token)
        self._sessions.pop(digest, None)
        self.book.accounts.revoke_session_now(digest)

    def revoke_guard(self, badge: str) -> int:
        """End every session of one guard; how many were open."""
        for digest, (actor, _, _) in list(self._sessions.items()):
            if actor.id == badge:
                del self._sessions[digest]
        return self.book.accounts.revoke_guard_sessions_now(badge)

    def create_key(self, scope: str, name: str) -> str:
        """A new API key; only its hash is stored, so this is the only time it is seen."""
        if scope not in SCOPES:
            raise errors.InvalidValue(f"scope must be one of {', '.join(SCOPES)}")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        self.book.accounts.add_api_key_now(new_id(), name, scope, token_digest(key))
        return key
