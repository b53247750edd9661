"""The supervisors' dashboard (CONTRACT section 7, hub): every site on one screen, a site's
people, register, incidents and logbook, and one incident's timeline with the supervisor's
entry form. Server-rendered Jinja2 in zh-Hant, zh-Hans and en with the shared catalogue, on
the page base of `service.pages`; cookie sessions with CSRF tokens; a site the user may not
see is 404, as in the API. Live: the pages follow `/live` like the tablet's
(service/static/live.js). One module per area."""

from fastapi import APIRouter

from . import incidents, login, manage, reports, search, sites
from .base import HubPage

router = APIRouter(include_in_schema=False)
for area in (login, sites, incidents, search, manage, reports):
    router.include_router(area.router)

__all__ = ["HubPage", "router"]
