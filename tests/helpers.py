"""Real processes for tests: free ports, waiting with a deadline, an edge post on disk and served
by a real uvicorn child process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
EDGE = str(BIN / "guardpost-edge")

GUARD = {"badge": "1001", "name": "陳大文", "pin": "2468"}
SUPERVISOR = {"badge": "9001", "name": "Supervisor Wong", "pin": "13579"}
UNITS_CSV = "unit,intercom,residents\n12A,1201,陳太太\n12B,,\n3C,0303,Mr Lee\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], T], timeout_s: float = 10.0, what: str = "") -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.05)
    raise AssertionError(f"gave up after {timeout_s}s waiting for {what or check}")


def run_edge(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `guardpost-edge ARGS` and capture its output."""
    return subprocess.run([EDGE, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def init_post(data: Path, site: str = "harbour-view", device: str = "lobby-1") -> dict[str, str]:
    """An initialised post with a guard, a supervisor, units and one key of each scope."""
    assert run_edge("init", "--data", str(data), "--site", site, "--device", device).returncode == 0
    for person, role in ((GUARD, "guard"), (SUPERVISOR, "supervisor")):
        result = run_edge("add-guard", "--data", str(data), "--badge", person["badge"],
                          "--name", person["name"], "--pin", person["pin"], "--role", role)
        assert result.returncode == 0, result.stderr
    units = data / "units.csv"
    units.write_text(UNITS_CSV, encoding="utf-8")
    assert run_edge("import-units", "--data", str(data), str(units)).returncode == 0
    keys = {}
    for scope in ("door", "intercom"):
        result = run_edge("add-key", "--data", str(data), "--scope", scope, "--name", scope)
        assert result.returncode == 0, result.stderr
        keys[scope] = result.stdout.strip().splitlines()[-1]
    return keys


@dataclass
class EdgeServer:
    """A real `guardpost-edge serve` child process."""

    data: Path
    port: int = field(default_factory=free_port)
    extra_args: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> EdgeServer:
        self.log_path = self.data / f"serve-{self.port}-{time.monotonic_ns()}.log"
        with self.log_path.open("wb") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                [EDGE, "serve", "--data", str(self.data), "--port", str(self.port),
                 *self.extra_args],
                stdout=log, stderr=subprocess.STDOUT)

        def healthy() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"edge died at start:\n{self.output()}")
            try:
                return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, 20, "the edge to answer /healthz")
        return self

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

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

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=f"{self.url}/api/v1", headers=headers, timeout=30)

    def login(self, person: dict[str, str] = GUARD) -> str:
        answer = httpx.post(f"{self.url}/api/v1/auth/login",
                            json={"badge": person["badge"], "pin": person["pin"]}, timeout=30)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["token"])


def error_fields(answer: httpx.Response) -> list[Any]:
    """The field names a 4xx names: the last part of each `loc` in the shared error shape."""
    body = answer.json()
    assert isinstance(body["detail"], list), body
    return [item["loc"][-1] for item in body["detail"]]
