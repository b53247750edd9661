"""The supervisors' dashboard (CONTRACT section 7, hub): every site on one screen, a site's
people, register, incidents and logbook, one visit's page, and one incident's timeline with
the supervisor's entry form. Server-rendered Jinja2 in zh-Hant, zh-Hans and en with the
shared catalogue, on the page base of `service.pages`; cookie sessions with CSRF tokens; a
site the user may not see is 404, as in the API. A manager runs the fleet's sites, settings,
directories and guards on their own pages (`fleet`, `guards`). Live: the pages follow `/live`
like the tablet's (service/static/live.js). One module per area, and the login with a
username and a
password."""

from service.pages_login import LoginForm, pages_router

from ..actions import HubLoginIn
from . import fleet, guards, incidents, manage, patrols, photos, reports, search, sites, visits
from .base import HubPage

LOGIN = LoginForm(
    HubLoginIn,
    name="username",
    secret="password",
    too_many=lambda _: _("Too many wrong passwords. Wait 5 minutes."),
    wrong=lambda _: _("Wrong username or password."),
)
router = pages_router(
    HubPage,
    LOGIN,
    sites,
    fleet,
    guards,
    incidents,
    photos,
    search,
    manage,
    reports,
    visits,
    patrols,
)

__all__ = ["HubPage", "router"]
