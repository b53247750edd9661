"""The guard's tablet pages (CONTRACT section 7): server-rendered Jinja2 in en, zh-Hant and
zh-Hans, cookie sessions with CSRF tokens, forms named after the API's fields. Each page calls
the same logbook and auth as the API. The page machinery (the page base, the login flow,
live updates, error pages, the words) is `service`'s, shared with the hub; here one module
per area."""

from fastapi import APIRouter

from schemas import models as m
from service.live import live_router
from service.pages_login import LoginForm, login_router

from . import incidents, logbook, visits
from .base import Page

LOGIN = LoginForm(
    m.LoginIn,
    name="badge",
    secret="pin",
    too_many=lambda _: _("Too many wrong PINs. Wait 5 minutes."),
    wrong=lambda _: _("Wrong badge or PIN."),
)

router = APIRouter(include_in_schema=False)
router.include_router(login_router(Page, LOGIN))
router.include_router(live_router(Page))
for area in (visits, incidents, logbook):
    router.include_router(area.router)

__all__ = ["Page", "router"]
