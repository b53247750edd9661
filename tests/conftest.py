from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.browser import launch, tab
from tests.helpers import Company, EdgeServer, init_post


@pytest.fixture
def post(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """An initialised post's data dir and its API keys (door, intercom)."""
    data = tmp_path / "post"
    return data, init_post(data)


@pytest.fixture
def edge(post: tuple[Path, dict[str, str]]) -> Iterator[EdgeServer]:
    """A real edge server on a free port, stopped afterwards."""
    server = EdgeServer(post[0])
    server.keys = post[1]  # type: ignore[attr-defined]
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def company(tmp_path: Path) -> Iterator[Company]:
    """A hub with its broker config; posts are added by the test; everything stops after."""
    world = Company(tmp_path)
    try:
        yield world
    finally:
        world.stop_all(*getattr(world, "extra", []))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, once per test module."""
    yield from launch()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh 1024x768 tab (the lobby tablet) with its own cookies."""
    yield from tab(browser)
