"""A post's events as the hub holds them, for a replacement post (CONTRACT section 11):
`guardpost-edge restore --from-hub` pages through them and asks for the hub's current versions
again. A manager's only: the events carry the personal data the hub still holds."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from service import errors

from ..actions import audit_read
from ..auth import User
from ..store import Store
from .deps import CurrentUser, StoreDep

router = APIRouter(tags=["devices"])
MAX_PAGE = 5000


class DeviceEvents(BaseModel):
    site: str
    device: str
    acked_seq: int = Field(description="every event up to here is stored at the hub")
    events: list[dict[str, Any]] = Field(description="events as stored, in seq order")
    next_after: int | None = Field(description="ask again with after=this; null at the end")


def _known_device(user: User, store: Store, site: str, device: str) -> dict[str, Any]:
    if user.role != "manager":
        raise errors.Forbidden("only a manager may copy a post's logbook")
    found = [d for d in store.list_devices([site]) if d["device"] == device]
    if not found:
        raise errors.NotFound(f"no post {site}/{device}", loc=("path", "device"))
    return found[0]


@router.get("/devices/{site}/{device}/events", responses={403: {}, 404: {}})
def device_events(
    site: str,
    device: str,
    user: CurrentUser,
    store: StoreDep,
    after: Annotated[int, Query(ge=0, description="the last seq already fetched")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1000,
) -> DeviceEvents:
    """The device's events with seq > `after`, at most `limit`, exactly as stored (`pii` is
    null where it was purged): a replacement post restores from them."""
    known = _known_device(user, store, site, device)
    events = store.device_events(site, device, after, limit)
    audit_read(store, user, "api device events", site=site, device=device, after=after)
    return DeviceEvents(
        site=site,
        device=device,
        acked_seq=known["acked_seq"],
        events=events,
        next_after=events[-1]["seq"] if len(events) == limit else None,
    )


@router.post("/devices/{site}/{device}/resend", status_code=202, responses={403: {}, 404: {}})
def resend_current(site: str, device: str, user: CurrentUser, store: StoreDep) -> dict[str, str]:
    """Send the post the site's current settings, directory, roster, watch list and rounds
    again (a replacement card holds none of them), once it is online."""
    _known_device(user, store, site, device)
    store.forget_sent(site, device)
    store.queue_current(site, device)
    return {"state": "pending"}
