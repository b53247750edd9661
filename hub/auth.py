"""Hub users: argon2 passwords, sessions, lockout; roles manager / supervisor / auditor with site
scopes. The login flow and the crypto are `service.logins`; the rows live in `store/`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from service import errors
from service.logins import Login, new_session
from service.passwords import hash_secret, token_digest

from .store import Store

ROLES = ("manager", "supervisor", "auditor")
PASSWORD_LOGIN = Login(
    "username",
    "password",
    too_many="too many wrong passwords; wait 5 minutes",
    wrong="wrong username or password",
)


@dataclass
class User:
    username: str
    role: str
    sites: list[str] | None  # None: every site (manager)

    kind = "user"

    @property
    def ref(self) -> str:
        return f"hub:{self.username}"

    def may_see(self, site: str) -> bool:
        return self.sites is None or site in self.sites

    @property
    def may_write(self) -> bool:
        return self.role in ("manager", "supervisor")


def _user(row: dict[str, Any]) -> User:
    sites = None if row["role"] == "manager" else [s for s in row["sites"].split(",") if s]
    return User(row["username"], row["role"], sites)


class HubAuth:
    def __init__(self, store: Store, session_hours: float = 12.0) -> None:
        self.store = store
        self.session = timedelta(hours=session_hours)

    def login(self, username: str, password: str) -> dict[str, Any]:
        """Check username + password (`service.logins`); a new session token, or
        Unauthorized / TooManyAttempts."""
        row = PASSWORD_LOGIN.check(
            username,
            password,
            reserve=self.store.reserve_login_attempt,
            find=self.store.get_user,
            hash_of=lambda row: str(row["password_hash"]),
        )
        token, digest, expires_at = new_session(self.session)
        self.store.login_succeeded(username, digest, expires_at)
        user = _user(row)
        return {
            "token": token,
            "expires_at": expires_at,
            "user": {"username": user.username, "role": user.role, "sites": user.sites},
        }

    def resolve(self, token: str) -> User:
        row = self.store.find_session(token_digest(token))
        if row is None:
            raise errors.Unauthorized("invalid or expired token", loc=("header", "Authorization"))
        return _user(row)

    def logout(self, token: str) -> None:
        self.store.revoke_session(token_digest(token))

    def add_user(self, username: str, password: str, role: str, sites: list[str]) -> bool:
        if role not in ROLES:
            raise errors.InvalidValue(f"role must be one of {', '.join(ROLES)}")
        created = self.store.add_user(username, hash_secret(password), role, ",".join(sites))
        if not created:  # a new password or role: logins made with the old ones end now
            self.store.revoke_user_sessions(username)
        return created

    def revoke_user(self, username: str) -> int:
        return self.store.revoke_user_sessions(username)
