from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx._transports.default
import pytest
from playwright.sync_api import Browser, Page

from tests.browser import launch, tab
from tests.helpers import (
    Company,
    EdgeServer,
    HubDatabases,
    HubServer,
    init_hub,
    init_post,
    running,
)
from tests.mail import Sink
from tests.pg import PgCluster, start_cluster

# httpx builds a TLS context for every client, and so for every `httpx.get`: it loads certifi's
# CA bundle, about 30 ms of CPU, though the tests speak plain HTTP to their own servers. Each
# server's start polls /healthz, each login is a request: thousands in the suite, minutes of
# CPU. A context is built once for each set of arguments and shared (an SSLContext serves any
# number of clients); what httpx builds is unchanged.
_contexts: dict[Any, Any] = {}
_build_context = httpx._transports.default.create_ssl_context


def _shared_context(*args: Any, **kwargs: Any) -> Any:
    key = (args, tuple(sorted(kwargs.items())))
    try:
        if key not in _contexts:
            _contexts[key] = _build_context(*args, **kwargs)
        return _contexts[key]
    except TypeError:  # an argument that cannot be a key (a file-like cert): built each time
        return _build_context(*args, **kwargs)


httpx._transports.default.create_ssl_context = _shared_context

# a module (pytestmark) or test that runs on both of the hub's engines; its hubs made by
# init_hub, `hub`, `company` and `shared_hub` keep their tables in SQLite, then in PostgreSQL
BOTH_ENGINES = [
    pytest.mark.usefixtures("hub_db"),
    pytest.mark.parametrize("hub_db", ["sqlite", "postgresql"], indirect=True, scope="module"),
]


F = TypeVar("F", bound=Callable[..., Any])


def both_engines(test: F) -> F:
    """Run `test` on the hub's SQLite, then on its PostgreSQL (as `pytestmark = BOTH_ENGINES`)."""
    for mark in reversed(BOTH_ENGINES):
        test = mark(test)
    return test


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """One throwaway PostgreSQL per test worker, started when a test first needs it."""
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def hub_db(request: pytest.FixtureRequest) -> Iterator[str]:
    """The hub's engine for this module's hubs: "sqlite" unless parametrised (BOTH_ENGINES)."""
    engine = getattr(request, "param", "sqlite")
    if engine == "postgresql":
        HubDatabases.cluster = request.getfixturevalue("pg_cluster")
    try:
        yield engine
    finally:
        HubDatabases.cluster = None


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
def hub(tmp_path: Path, hub_db: str) -> Iterator[HubServer]:
    """A real hub with the manager's account on a free port, stopped afterwards."""
    data = tmp_path / "hub"
    init_hub(data)
    with running(HubServer(data)) as server:
        yield server


@pytest.fixture
def company(tmp_path: Path, hub_db: str) -> Iterator[Company]:
    """A hub with its broker config; posts are added by the test; everything stops after."""
    world = Company(tmp_path)
    try:
        yield world
    finally:
        world.stop_all(*world.extra)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, once per test module."""
    yield from launch()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh 1024x768 tab (the lobby tablet) with its own cookies."""
    yield from tab(browser)


@pytest.fixture(scope="module")
def shared_post(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeServer]:
    """One running post (with its keys) for a whole module whose tests do not depend on each
    other's records (requests refused or read, visits compared)."""
    data = tmp_path_factory.mktemp("shared") / "post"
    server = EdgeServer(data)
    server.keys = init_post(data)  # type: ignore[attr-defined]
    with running(server):
        yield server


@pytest.fixture(scope="module")
def shared_hub(tmp_path_factory: pytest.TempPathFactory, hub_db: str) -> Iterator[HubServer]:
    """One running hub for a whole module: the manager, and the post harbour-view/lobby-1
    provisioned (no broker: nothing to ingest)."""
    data = tmp_path_factory.mktemp("shared") / "hub"
    init_hub(data, ("harbour-view", "lobby-1"))
    with running(HubServer(data)) as server:
        yield server


@pytest.fixture
def sink() -> Iterator[Sink]:
    """A local SMTP server for the hub's escalation mails, stopped afterwards."""
    server = Sink()
    server.controller.start()
    try:
        yield server
    finally:
        server.controller.stop()
