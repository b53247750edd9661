"""The hub's HTTP API (`/api/v1`, CONTRACT section 3), one module per area. A user sees only the
sites their role allows: another site's record is 404, not 403; an auditor may read but not
write (403)."""

from __future__ import annotations

from fastapi import APIRouter

from service.http import COMMON_ERRORS

from . import accounts, commands, device_copy, guards, manage, patrols, photos, records, sites
from .deps import AuthDep, CurrentUser, StoreDep

router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS)
for area in (accounts, records, device_copy, commands, sites, guards, manage, patrols, photos):
    router.include_router(area.router)

__all__ = ["AuthDep", "CurrentUser", "StoreDep", "router"]
