"""Logging in and out of the dashboard (the login flow of `service.pages_login`, with a
username and a password), and `/live`, the version its pages follow."""

from __future__ import annotations

from fastapi import APIRouter

from service.live import live_router
from service.pages_login import LoginForm, login_router

from ..actions import HubLoginIn
from .base import HubPage

LOGIN = LoginForm(
    HubLoginIn,
    name="username",
    secret="password",
    too_many=lambda _: _("Too many wrong passwords. Wait 5 minutes."),
    wrong=lambda _: _("Wrong username or password."),
)

router = APIRouter(include_in_schema=False)
router.include_router(login_router(HubPage, LOGIN))
router.include_router(live_router(HubPage))
