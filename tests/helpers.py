"""Real processes for tests: free ports, waiting with a deadline, an edge post on disk and served
by a real uvicorn child process."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self, TypeVar

import httpx
import paho.mqtt.client as mqtt
import pytest
from hypothesis import HealthCheck, Phase, seed, settings
from paho.mqtt.enums import CallbackAPIVersion

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
EDGE = str(BIN / "guardpost-edge")

GUARD = {"badge": "1001", "name": "陳大文", "pin": "2468"}
SUPERVISOR = {"badge": "9001", "name": "Supervisor Wong", "pin": "13579"}
UNITS_CSV = "unit,intercom,residents\n12A,1201,陳太太\n12B,,\n3C,0303,Mr Lee\n"


_PORTS_PER_WORKER = 2000
_next_port: list[int] = []


def free_port() -> int:
    """A port nobody listens on, never handed out twice in this run: each pytest-xdist worker takes
    its own block below the kernel's ephemeral range, so a broker whose port was chosen but that has
    not bound yet cannot be given the same port as a post (a bind(0) port can come back at once)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    first = 20000 + (int(worker) % 6 if worker.isdigit() else 0) * _PORTS_PER_WORKER
    if not _next_port:  # a random start, so two test runs side by side rarely meet
        _next_port.append(random.SystemRandom().randrange(_PORTS_PER_WORKER))
    while True:
        port = first + _next_port[0]
        _next_port[0] = (_next_port[0] + 1) % _PORTS_PER_WORKER
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def wait_until(check: Callable[[], T], timeout_s: float = 10.0, what: str = "") -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.05)
    raise AssertionError(f"gave up after {timeout_s}s waiting for {what or check}")


def run_edge(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `guardpost-edge ARGS` and capture its output."""
    return subprocess.run(
        [EDGE, *args], capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})}
    )


def run_batch(
    *commands: tuple[str, list[str]], keep_going: bool = False
) -> list[subprocess.CompletedProcess[str]]:
    """Run `(program, args)` commands (program `edge` or `hub`) one after another in one child
    Python process (tests/cli_batch.py), each as its console script would; stops at the first
    that fails, whose result is the last one returned, unless `keep_going`."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "cli_batch.py"), *(["--keep-going"] * keep_going)],
        input=json.dumps(commands),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return [
        subprocess.CompletedProcess(args, r["returncode"], r["stdout"], r["stderr"])
        for (_, args), r in zip(commands, json.loads(done.stdout), strict=False)
    ]


def guard_args(data: Path, person: dict[str, str], *more: str) -> list[str]:
    """`add-guard`'s arguments for `person` (its badge, name and PIN), with `more` options."""
    who = ("--badge", person["badge"], "--name", person["name"], "--pin", person["pin"])
    return ["add-guard", "--data", str(data), *who, *more]


def add_guard(data: Path, person: dict[str, str], *more: str) -> subprocess.CompletedProcess[str]:
    """`guardpost-edge add-guard` of `person` (its badge, name and PIN), with `more` options."""
    return run_edge(*guard_args(data, person, *more))


def import_units(data: Path, csv: Path, content: str) -> subprocess.CompletedProcess[str]:
    """`guardpost-edge import-units` of a CSV file `csv` written with `content`."""
    csv.write_text(content, encoding="utf-8")
    return run_edge("import-units", "--data", str(data), str(csv))


def init_post(
    data: Path, site: str = "harbour-view", device: str = "lobby-1", id_key: str | None = None
) -> dict[str, str]:
    """An initialised post with a guard, a supervisor, units and one key of each scope."""
    key = ["--id-key", id_key] if id_key else []
    csv = data.parent / f"{data.name}-units.csv"
    csv.write_text(UNITS_CSV, encoding="utf-8")
    scopes = ("door", "intercom")
    results = run_batch(
        ("edge", ["init", "--data", str(data), "--site", site, "--device", device, *key]),
        ("edge", guard_args(data, GUARD, "--role", "guard")),
        ("edge", guard_args(data, SUPERVISOR, "--role", "supervisor")),
        ("edge", ["import-units", "--data", str(data), str(csv)]),
        *(("edge", ["add-key", "--data", str(data), "--scope", s, "--name", s]) for s in scopes),
    )
    assert [r.returncode for r in results] == [0] * 6, results[-1].stderr
    return {s: r.stdout.strip().splitlines()[-1] for s, r in zip(scopes, results[-2:], strict=True)}


@dataclass
class Child:
    """A child process of the test (`proc`) on a free `port`: stopped politely, killed if it will
    not go."""

    port: int = field(default_factory=free_port, kw_only=True)
    proc: subprocess.Popen[bytes] | None = field(default=None, kw_only=True)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def start_script(script: str, port: int, *args: str) -> subprocess.Popen[bytes]:
    """`scripts/SCRIPT --port PORT ARGS` as a quiet child process, once it listens."""
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / script), "--port", str(port), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until(lambda: port_accepts(port), 10, f"{script} to listen")
    return proc


@dataclass
class Service(Child):
    """A real server child process (`guardpost-edge serve` or `guardpost-hub serve`)."""

    data: Path
    log_path: Path | None = None
    env: dict[str, str] = field(default_factory=dict)

    def command(self) -> list[str]:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        self.log_path = self.data / f"serve-{self.port}-{time.monotonic_ns()}.log"
        with self.log_path.open("wb") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **self.env}
            )

        def healthy() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.command()[0]} died at start:\n{self.output()}")
            try:
                return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, 20, f"{self.url}/healthz to answer")
        return self

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""


@dataclass
class EdgeServer(Service):
    """A real `guardpost-edge serve` child process."""

    extra_args: list[str] = field(default_factory=list)
    _tokens: dict[str, str] = field(default_factory=dict, repr=False)

    def command(self) -> list[str]:
        return [EDGE, "serve", "--data", str(self.data), "--port", str(self.port), *self.extra_args]

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=f"{self.url}/api/v1", headers=headers, timeout=30)

    def login(self, person: dict[str, str] = GUARD) -> str:
        answer = httpx.post(
            f"{self.url}/api/v1/auth/login",
            json={"badge": person["badge"], "pin": person["pin"]},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["token"])

    def token(self, person: dict[str, str] = GUARD) -> str:
        """A token of `person` from one login, kept for the test's next reads: a test waiting
        on the post logs in twenty times a second otherwise, and each login hashes the PIN (an
        argon2 hash, about 25 ms of the post's CPU). Not for a person whose session may end."""
        if person["badge"] not in self._tokens:
            self._tokens[person["badge"]] = self.login(person)
        return self._tokens[person["badge"]]


def intercom_args(webhook: str, secret: str, confirm_timeout_s: float | None = None) -> list[str]:
    """`serve` options of a post whose confirmation requests go to `webhook`, signed with
    `secret`, answered within `confirm_timeout_s` (the post's default if None)."""
    timeout = [] if confirm_timeout_s is None else ["--confirm-timeout", str(confirm_timeout_s)]
    return ["--intercom-webhook", webhook, "--intercom-secret", secret, *timeout]


def error_fields(answer: httpx.Response) -> list[Any]:
    """The field names a 4xx names: the last part of each `loc` in the shared error shape."""
    body = answer.json()
    assert isinstance(body["detail"], list), body
    return [item["loc"][-1] for item in body["detail"]]


HUB = str(BIN / "guardpost-hub")
MANAGER = {"username": "manager", "password": "manager-pass-1"}


def run_hub(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HUB, *args], capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})}
    )


def user_args(data: Path, user: dict[str, str], role: str, sites: str | None = None) -> list[str]:
    """`add-user`'s arguments for `user` (its username and password) with `role`, over `sites`."""
    where = ["--sites", sites] if sites else []
    login = ("--username", user["username"], "--password", user["password"])
    return ["add-user", "--data", str(data), *login, "--role", role, *where]


def add_user(data: Path, user: dict[str, str], role: str, sites: str | None = None) -> None:
    """`guardpost-hub add-user` of `user` (its username and password) with `role`, over `sites`
    where given (a user who exists gets the new password and role)."""
    result = run_hub(*user_args(data, user, role, sites))
    assert result.returncode == 0, result.stderr


class HubDatabases:
    """Where `init_hub` keeps a new hub's tables: SQLite in its directory, or (while a module
    runs on PostgreSQL: the `hub_db` fixture sets `cluster`) a new database of the test cluster."""

    cluster: Any = None

    @classmethod
    def new(cls) -> str | None:
        return None if cls.cluster is None else str(cls.cluster.new_database())


def hub_query(data: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Rows of `sql` (with `?` placeholders) on the hub in `data`, whichever its engine; no rows
    while its tables are not made yet."""
    import sqlite3

    import psycopg

    from hub.store.postgres import pg_sql
    from hub.store.schema import DB_URL_FILE

    if (data / DB_URL_FILE).is_file():
        url = (data / DB_URL_FILE).read_text(encoding="utf-8").strip()
        with psycopg.connect(url, autocommit=True) as conn:
            try:
                return [tuple(r) for r in conn.execute(pg_sql(sql), list(args)).fetchall()]
            except psycopg.errors.UndefinedTable:
                return []
    conn = sqlite3.connect(data / "hub.db", timeout=5)
    try:
        return [tuple(r) for r in conn.execute(sql, args).fetchall()]
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise
    finally:
        conn.close()


def hub_contents(data: Path) -> bytes:
    """What the hub in `data` keeps: its SQLite files' bytes, or every PostgreSQL table's rows
    as text (a purged name must be in neither)."""
    from hub.store.schema import DB_URL_FILE

    if not (data / DB_URL_FILE).is_file():
        return b"".join(p.read_bytes() for p in data.glob("hub.db*") if p.is_file())
    tables = hub_query(
        data, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
    )
    return "\n".join(
        str(row) for (table,) in tables for row in hub_query(data, f"SELECT t::text FROM {table} t")
    ).encode()


def init_hub(
    data: Path, *posts: tuple[str, str], db: str | None = None, then: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """An initialised hub with the manager account and the posts `(site, device)` provisioned,
    its tables in `db`, else where `HubDatabases` says; `then`, one more hub command run in the
    same process, whose result is returned."""
    db = db or HubDatabases.new()
    results = run_batch(
        ("hub", ["init", "--data", str(data), *(["--db", db] if db else [])]),
        ("hub", user_args(data, MANAGER, "manager")),
        *(
            ("hub", ["provision-device", "--data", str(data), "--site", s, "--device", d])
            for s, d in posts
        ),
        *((("hub", list(then)),) if then else ()),
    )
    assert [r.returncode for r in results] == [0] * (2 + len(posts) + bool(then)), results[
        -1
    ].stderr
    return results[-1]


S = TypeVar("S", bound="Service")


@contextmanager
def running(server: S) -> Iterator[S]:
    """`server` started, and stopped afterwards whatever the test did."""
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def tmpfs(mount: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` (`2m`) mounted at `mount` for a full-disk test; skips the test with the
    reason where it cannot mount (mounting needs root: CI runs as root)."""
    if os.geteuid() != 0:
        pytest.skip("a full-disk test mounts a small tmpfs, which needs root (CI runs as root)")
    mount.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def key_values(output: str) -> dict[str, str]:
    """`username=...` / `password=...` lines of a hub command."""
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)


def port_accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class Broker(Child):
    """A real Mosquitto with the hub's generated config (auth + ACL) on a free port."""

    hub_data: Path

    def config_args(self) -> tuple[str, ...]:
        return ("broker-config", "--data", str(self.hub_data), "--port", str(self.port))

    def configure(self) -> dict[str, str]:
        result = run_hub(*self.config_args())
        assert result.returncode == 0, result.stderr
        return key_values(result.stdout)

    def start(self) -> Broker:
        conf = self.hub_data / "broker" / "mosquitto.conf"
        with (self.hub_data / "broker" / "mosquitto.log").open("ab") as log:
            self.proc = subprocess.Popen(
                ["mosquitto", "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT
            )
        wait_until(lambda: port_accepts(self.port), 10, "mosquitto to listen")
        return self

    def reload(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGHUP)
        time.sleep(0.3)

    def url(self, username: str, password: str) -> str:
        return f"mqtt://{username}:{password}@127.0.0.1:{self.port}"


@dataclass
class HubServer(Service):
    """A real `guardpost-hub serve` child process."""

    broker_url: str = ""
    _tokens: dict[str, str] = field(default_factory=dict, repr=False)

    def command(self) -> list[str]:
        broker = ["--broker", self.broker_url] if self.broker_url else []
        return [HUB, "serve", "--data", str(self.data), "--port", str(self.port), *broker]

    def client(self, user: dict[str, str] = MANAGER) -> httpx.Client:
        """An API client logged in as `user` (a new login)."""
        return self._client(self._login(user))

    def session(self, user: dict[str, str] = MANAGER) -> httpx.Client:
        """`client` with the token of one login kept for the test's next reads: a test waiting
        on the hub would otherwise log in twenty times a second, each login an argon2 hash."""
        if user["username"] not in self._tokens:
            self._tokens[user["username"]] = self._login(user)
        return self._client(self._tokens[user["username"]])

    def _login(self, user: dict[str, str]) -> str:
        answer = httpx.post(f"{self.url}/api/v1/auth/login", json=user, timeout=30)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["token"])

    def _client(self, token: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.Client(base_url=f"{self.url}/api/v1", timeout=30, headers=headers)


@dataclass
class Company:
    """A hub with its broker config, and posts provisioned on it (not started)."""

    root: Path
    hub_data: Path = field(init=False)
    broker: Broker = field(init=False)
    hub_account: dict[str, str] = field(init=False)
    posts: dict[tuple[str, str], EdgeServer] = field(default_factory=dict)
    extra: list[Any] = field(default_factory=list)  # more servers that `stop_all` stops

    def __post_init__(self) -> None:
        self.hub_data = self.root / "hub"
        self.broker = Broker(self.hub_data)
        self.hub_account = key_values(
            init_hub(self.hub_data, then=self.broker.config_args()).stdout
        )

    def add_post(self, site: str, device: str) -> EdgeServer:
        result = run_hub(
            "provision-device", "--data", str(self.hub_data), "--site", site, "--device", device
        )
        assert result.returncode == 0, result.stderr
        account = key_values(result.stdout)
        data = self.root / f"{site}-{device}"
        keys = init_post(data, site=site, device=device, id_key=account["id_key"])
        post = EdgeServer(
            data, extra_args=["--broker", self.broker.url(account["username"], account["password"])]
        )
        post.keys = keys  # type: ignore[attr-defined]
        post.account = account  # type: ignore[attr-defined]
        self.posts[(site, device)] = post
        if self.broker.proc is not None:
            self.broker.reload()
        return post

    def hub(self) -> HubServer:
        return HubServer(
            self.hub_data,
            broker_url=self.broker.url(self.hub_account["username"], self.hub_account["password"]),
        )

    def start_hub(self) -> HubServer:
        """The broker and the hub, running (`stop_all` stops them)."""
        self.broker.start()
        hub = self.hub().start()
        self.extra = [hub]
        return hub

    def start_with_post(self, site: str, device: str = "lobby-1") -> tuple[EdgeServer, HubServer]:
        """A new post of `site`, the broker and the hub, all running (`stop_all` stops them)."""
        post = self.add_post(site, device)
        hub = self.start_hub()
        post.start()
        return post, hub

    def stop_all(self, *servers: Any) -> None:
        for server in [*servers, *self.posts.values()]:
            server.stop()
        self.broker.stop()


@dataclass
class GatewaySim(Child):
    """`scripts/intercom_gateway.py` as a child process: a fake intercom gateway over HTTP."""

    secret: str
    key: str
    mode: str = "approve"
    after_s: float = 0.2
    fail: int = 0

    @property
    def webhook(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhook"

    def start(self) -> Self:
        self.proc = start_script(
            "intercom_gateway.py",
            self.port,
            *("--secret", self.secret, "--key", self.key, "--mode", self.mode),
            *("--after", str(self.after_s), "--fail", str(self.fail)),
        )
        return self

    def received(self) -> list[dict[str, Any]]:
        answer = httpx.get(f"http://127.0.0.1:{self.port}/received", timeout=5)
        return list(answer.json()["received"])

    def set_mode(self, **change: Any) -> None:
        httpx.post(f"http://127.0.0.1:{self.port}/mode", json=change, timeout=5)


class Tap:
    """An MQTT client on the test's side (any account): records messages, publishes raw."""

    def __init__(
        self, company: Company, username: str, password: str, topics: list[str] | None = None
    ) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.username_pw_set(username, password)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", company.broker.port)
        self.client.loop_start()
        for topic in topics or []:
            self.client.subscribe(topic, qos=1)
        time.sleep(0.3)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.messages.append((message.topic, bytes(message.payload)))

    def publish(self, topic: str, payload: bytes) -> mqtt.MQTTMessageInfo:
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout=5)
        return info

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


F = TypeVar("F", bound=Callable[..., Any])


def cases_as_requests(examples: int, seed_value: int) -> Callable[[F], F]:
    """Hypothesis for tests whose every case is a request to a real server: `examples` cases from
    `seed_value`, no example database, no deadline, no health checks, and no shrinking."""

    def decorate(test: F) -> F:
        configured = settings(
            max_examples=examples,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )(test)
        return seed(seed_value)(configured)  # type: ignore[no-any-return]

    return decorate


def init_small_post(data: Path, site: str = "harbour-view", device: str = "lobby-1") -> None:
    """An initialised post with the guard and the units only (three commands, not `init_post`'s
    six: for tests that only register visitors)."""
    result = run_edge("init", "--data", str(data), "--site", site, "--device", device)
    assert result.returncode == 0, result.stderr
    assert add_guard(data, GUARD).returncode == 0
    assert import_units(data, data.parent / f"{data.name}-units.csv", UNITS_CSV).returncode == 0
