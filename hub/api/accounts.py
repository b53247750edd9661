"""Logging in and out, and ending a user's sessions."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from service import errors

from ..actions import (
    HubLoginIn,
)
from .deps import AuthDep, CurrentUser, StoreDep

router = APIRouter()


class HubUserOut(BaseModel):
    username: str
    role: str
    sites: list[str] | None


class HubLoginOut(BaseModel):
    token: str
    expires_at: str
    user: HubUserOut


@router.post("/auth/login", tags=["auth"], responses={401: {}, 429: {}})
def login(body: HubLoginIn, auth: AuthDep) -> HubLoginOut:
    return HubLoginOut.model_validate(auth.login(body.username, body.password))


@router.post("/auth/logout", tags=["auth"], status_code=204)
def logout(request: Request, user: CurrentUser, auth: AuthDep) -> None:
    auth.logout(request.state.token)


@router.post("/users/{username}/revoke-sessions", tags=["auth"], responses={403: {}, 404: {}})
def revoke_sessions(
    username: str, user: CurrentUser, store: StoreDep, auth: AuthDep
) -> dict[str, int]:
    """Manager only: end every session of a user at once (a lost laptop, someone who left)."""
    if user.role != "manager":
        raise errors.Forbidden("only a manager may end other users' sessions")
    if store.get_user(username) is None:
        raise errors.NotFound(f"no user {username}", loc=("path", "username"))
    return {"revoked": auth.revoke_user(username)}
