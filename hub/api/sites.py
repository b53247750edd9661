"""The fleet: sites, their settings and directories, which reach every post of the site."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from schemas import models as m
from service import errors

from ..actions import (
    check_site_access,
    put_settings,
    put_site,
    put_units,
)
from .deps import CurrentUser, StoreDep

router = APIRouter()


@router.get("/sites", tags=["sites"])
def list_sites(user: CurrentUser, store: StoreDep) -> m.SiteList:
    """The sites the user may see, each with its name, time zone, kind, the settings set at
    the hub and their version."""
    return m.SiteList(sites=[m.Site.model_validate(s) for s in store.list_sites(user.sites)])


@router.get("/sites/{site}", tags=["sites"], responses={404: {}})
def get_site(site: str, user: CurrentUser, store: StoreDep) -> m.Site:
    check_site_access(user, site, change=False)
    record = store.get_site(site)
    if record is None:
        raise errors.NotFound(f"no site {site}", loc=("path", "site"))
    return m.Site.model_validate(record)


@router.put("/sites/{site}", tags=["sites"], responses={403: {}, 404: {}, 422: {}})
def put_site_record(
    site: str, body: m.SiteIn, request: Request, user: CurrentUser, store: StoreDep
) -> m.Site:
    """Manager only: create or replace a site's record. Its posts show `name` instead of the
    slug once the next settings version (sent now) arrives."""
    return m.Site.model_validate(put_site(request, store, user, site, body))


@router.put("/sites/{site}/settings", tags=["sites"], responses={403: {}, 404: {}, 422: {}})
def put_site_settings(
    site: str, body: m.SiteSettingsIn, request: Request, user: CurrentUser, store: StoreDep
) -> m.Site:
    """Manager only: change any subset of the site's settings. The answer's `version` is
    delivered on the site's `down` topic to every post, which applies versions in order (an
    older one never overwrites a newer) and keeps them across restarts; the hub's values win
    over the post's own CLI/env values once delivered."""
    return m.Site.model_validate(put_settings(request, store, user, site, body))


class SiteUnits(BaseModel):
    version: int
    units: int


@router.put(
    "/sites/{site}/units",
    tags=["sites"],
    responses={403: {}, 404: {}, 422: {}},
    openapi_extra={
        "requestBody": {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            }
        }
    },
)
async def put_site_units(
    site: str, request: Request, user: CurrentUser, store: StoreDep
) -> SiteUnits:
    """Manager only: replace the site's directory with a `text/csv` body (header
    `unit,intercom,residents`, as `guardpost-edge import-units` reads it) or a JSON list of
    `{"unit", "intercom", "residents"}`. Every post of the site replaces its directory with
    this version (its unit suggestions follow); `units` is how many it holds. A bad line is
    422 naming the line and field."""
    raw = await request.body()
    content_type = request.headers.get("content-type", "")
    answer = await run_in_threadpool(put_units, request, store, user, site, raw, content_type)
    return SiteUnits.model_validate(answer)


# ---- the watch list ---------------------------------------------------------------------------
