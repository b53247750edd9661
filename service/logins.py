"""One login flow for both services: a name (badge, username) and a secret (PIN, password)
checked against argon2 hashes with a lockout, and a new session token. Each service says where
its rows are and how it words the refusals; the rows stay in its own store."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from schemas.ids import format_time, utc_now

from . import errors
from .passwords import LOCKOUT_FAILURES, LOCKOUT_WINDOW, check_secret, dummy_hash, token_digest

R = TypeVar("R")


@dataclass(frozen=True)
class Login:
    """The fields a service's login body names, and its two refusals in its own words."""

    name: str  # "badge", "username"
    secret: str  # "pin", "password"
    too_many: str  # 429: too many wrong secrets in the window
    wrong: str  # 401: the name or the secret is wrong
    max_name: int = 64  # characters, as the login body allows; no account has a longer one

    def check(
        self,
        name: str,
        secret: str,
        *,
        reserve: Callable[[str, str, int], bool],
        find: Callable[[str], R | None],
        hash_of: Callable[[R], str],
    ) -> R:
        """The account of `name` if `secret` is its own, or InvalidValue / TooManyAttempts /
        Unauthorized. `reserve(name, since, limit)` counts the attempt as a failure before
        the secret is checked (False when `limit` failures are already there), in one
        transaction with the count: 60 logins at once still check at most LOCKOUT_FAILURES
        secrets per window; a right secret uncounts it when the session starts."""
        if len(name) > self.max_name:  # never stored
            raise errors.InvalidValue(f"{self.name} is too long", loc=("body", self.name))
        if not reserve(name, format_time(utc_now() - LOCKOUT_WINDOW), LOCKOUT_FAILURES):
            raise errors.TooManyAttempts(self.too_many, loc=("body", self.name))
        account = find(name)
        # an unknown name is checked against a dummy hash, so timing does not tell which exist
        if not check_secret(hash_of(account) if account else dummy_hash(), secret) or not account:
            raise errors.Unauthorized(self.wrong, loc=("body", self.secret))
        return account


def new_session(length: timedelta) -> tuple[str, str, str]:
    """A new session: its token (shown once), the token's digest (stored) and when it ends."""
    token = secrets.token_urlsafe(32)
    return token, token_digest(token), format_time(utc_now() + length)
