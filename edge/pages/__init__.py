"""The guard's tablet pages (CONTRACT section 7): server-rendered Jinja2 in en, zh-Hant and
zh-Hans, cookie sessions with CSRF tokens, forms named after the API's fields. Each page calls
the same logbook and auth as the API. The page machinery (the page base, the login flow,
live updates, error pages, the words) is `service`'s, shared with the hub; here one module
per area, and the login with a badge and a PIN."""

from schemas import models as m
from service.pages_login import LoginForm, pages_router

from . import incidents, logbook, panic, patrol, photos, visits
from .base import Page

LOGIN = LoginForm(
    m.LoginIn,
    name="badge",
    secret="pin",
    too_many=lambda _: _("Too many wrong PINs. Wait 5 minutes."),
    wrong=lambda _: _("Wrong badge or PIN."),
)
router = pages_router(Page, LOGIN, visits, incidents, photos, logbook, patrol, panic)

__all__ = ["Page", "router"]
