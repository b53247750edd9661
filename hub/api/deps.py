"""What the hub's routes are given: the store, the auth and the user asking (from `app.state`
and the bearer token, by service/http.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from service.http import actor_dependency, state_dependency

from ..auth import HubAuth, User
from ..store import Store

StoreDep = Annotated[Store, Depends(state_dependency("store", Store))]
AuthDep = Annotated[HubAuth, Depends(state_dependency("auth", HubAuth))]
CurrentUser = Annotated[User, Depends(actor_dependency(User))]
