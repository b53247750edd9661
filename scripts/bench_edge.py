"""Edge benchmark (issue: the edge logbook service). In one run it starts, on loopback:

- the real edge service (`guardpost-edge serve`, a fresh post, a logged-in guard), and
- the floor: a bare FastAPI + SQLite app that inserts one row per request in its own
  transaction (WAL, synchronous=FULL; scripts/bench_floor_app.py),

drives both with `wrk` (20 connections posting visits for 15 s each; installed with
scripts/setup if missing) and prints requests/s, p50/p99 and the server's CPU time per request
for each and the ratio edge/floor (target >= 1.3x). Then it sends a steady 50 requests/s to
each for 10 s and prints p50/p99 (target: the edge's p99 at most the floor's + 2 ms).

Then the same on a slow disk, a lobby Pi's SD card: both servers run with an LD_PRELOAD shim
(built here with cc) whose fsync and fdatasync sleep `--fsync-ms` before the real call.

Run: .venv/bin/python scripts/bench_edge.py [--seconds 15] [--clients 20] [--rate 50]
     [--fsync-ms 5] (0: no slow-disk run)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_args import parse_counts  # noqa: E402
from bench_record import Figure, higher, lower, record  # noqa: E402

from tests.helpers import GUARD, EdgeServer, free_port, init_post, wait_until  # noqa: E402

LUA = r"""
counter = 0
request = function()
  counter = counter + 1
  local body = string.format(
    '{"visitor_name":"訪客 %d","unit":"12A","category":"delivery","id_number":"K%07d",' ..
    '"company":"SF Express","purpose":"parcel","party_size":1}', counter, counter)
  return wrk.format("POST", "/api/v1/visits", nil, body)
end
"""


SLOW_FSYNC_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <time.h>

static void slow_disk(void) {
    struct timespec pause = {FSYNC_NS / 1000000000L, FSYNC_NS % 1000000000L};
    nanosleep(&pause, NULL);
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    slow_disk();
    return real(fd);
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    slow_disk();
    return real(fd);
}
"""


def slow_fsync_shim(root: Path, fsync_ms: int) -> Path:
    """A shared object for LD_PRELOAD whose fsync/fdatasync sleep `fsync_ms` first."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise SystemExit("the slow-disk run needs a C compiler: apt-get install -y gcc")
    source, shim = root / "slow_fsync.c", root / "slow_fsync.so"
    source.write_text(SLOW_FSYNC_C, encoding="utf-8")
    subprocess.run(
        [compiler, "-shared", "-fPIC", "-O2", f"-DFSYNC_NS={fsync_ms * 1_000_000}L"]
        + ["-o", str(shim), str(source), "-ldl"],
        check=True,
    )
    return shim


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system, all threads) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(
    url: str, token: str | None, seconds: int, clients: int, lua: Path, pid: int | None = None
) -> dict[str, float]:
    """wrk's requests/s and latency percentiles (ms) for POST /api/v1/visits, and the CPU time
    the server `pid` spent per request (us)."""
    cpu_before = cpu_s(pid) if pid else 0.0
    headers = ["-H", "Content-Type: application/json"]
    if token:
        headers += ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(
        [
            "wrk",
            "-t",
            "2",
            "-c",
            str(clients),
            "-d",
            f"{seconds}s",
            "--latency",
            "-s",
            str(lua),
            *headers,
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cpu_used = cpu_s(pid) - cpu_before if pid else 0.0
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    requests = float(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return {
        "failed": float(non_2xx.group(1)) if non_2xx else 0.0,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
        "p99": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
        "cpu_us": cpu_used * 1e6 / requests if requests else 0.0,
    }


def _ms(text: str) -> float:
    value, unit = float(re.match(r"[\d.]+", text).group(0)), text.lstrip("0123456789.")  # type: ignore[union-attr]
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


async def steady(url: str, token: str | None, rate: int, seconds: int) -> list[float]:
    """Send `rate` requests per second for `seconds`, each on schedule; latencies in ms."""
    latencies: list[float] = []
    async with httpx.AsyncClient(
        base_url=url,
        timeout=10,
        limits=httpx.Limits(max_connections=50),
        headers={"Authorization": f"Bearer {token}"} if token else {},
    ) as client:

        async def one(n: int) -> None:
            started = time.perf_counter()
            answer = await client.post(
                "/api/v1/visits",
                json={
                    "visitor_name": f"steady {n}",
                    "unit": "12A",
                    "category": "guest",
                    "id_number": f"S{n:07d}",
                },
            )
            if answer.status_code != 201:
                raise SystemExit(f"steady run: {answer.status_code} {answer.text}")
            latencies.append((time.perf_counter() - started) * 1000)

        # warm the connections
        await asyncio.gather(*(one(-n) for n in range(1, 6)))
        latencies.clear()
        tasks = []
        start = time.perf_counter()
        for n in range(rate * seconds):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.gather(*tasks)
    return latencies


def main() -> None:
    args = parse_counts(
        __doc__, raw=True, seconds=15, clients=20, rate=50, steady_seconds=10, fsync_ms=5
    )
    if shutil.which("wrk") is None:
        subprocess.run([str(ROOT / "scripts" / "setup"), "wrk"], check=True)
    root = Path(tempfile.mkdtemp(prefix="guardpost-bench-edge-"))
    lua = root / "visits.lua"
    lua.write_text(LUA, encoding="utf-8")
    try:
        found = figures(run_case(root / "fast", args, lua, {}))
        if args.fsync_ms > 0:
            shim = slow_fsync_shim(root, args.fsync_ms)
            print(f"\nOn a slow disk: every fsync and fdatasync of both servers {args.fsync_ms} ms")
            slow = run_case(root / "slow", args, lua, {"LD_PRELOAD": str(shim)})
            found += figures(slow, "slow disk: ")  # its fsync_ms is among the options
        record("edge", found, args)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Case:
    """One case's figures: wrk's for the floor and the edge, and the percentiles (1 to 99) of
    each at the steady rate."""

    floor: dict[str, float]
    edge: dict[str, float]
    floor_cuts: list[float]
    cuts: list[float]


def run_case(root: Path, args: argparse.Namespace, lua: Path, env: dict[str, str]) -> Case:
    """Floor and edge side by side, their servers with `env` (not wrk): the wrk table, the
    steady rate, `verify`."""
    root.mkdir()
    edge = EdgeServer(root / "post", env=env)
    init_post(edge.data)
    floor_port = free_port()
    floor = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench_floor_app:app",
            "--port",
            str(floor_port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT / "scripts",
        env={**os.environ, "FLOOR_DB": str(root / "floor.db"), **env},
    )
    try:
        edge.start()
        floor_url = f"http://127.0.0.1:{floor_port}"
        wait_until(lambda: _answers(f"{floor_url}/docs"), 20, "the floor app")
        token = edge.login(GUARD)
        assert edge.proc is not None
        floor_result = run_wrk(
            f"{floor_url}/api/v1/visits", None, args.seconds, args.clients, lua, floor.pid
        )
        edge_result = run_wrk(
            f"{edge.url}/api/v1/visits", token, args.seconds, args.clients, lua, edge.proc.pid
        )
        columns = ("requests/s", 12), ("p50 ms", 10), ("p99 ms", 10), ("non-2xx", 10)
        print(f"{'':28}" + "".join(f"{c:>{w}}" for c, w in columns) + f"{'CPU us/req':>12}")
        for name, result in (
            ("floor (bare FastAPI+SQLite)", floor_result),
            ("edge (guardpost-edge)", edge_result),
        ):
            print(
                f"{name:28}{result['rps']:>12.0f}{result['p50']:>10.1f}{result['p99']:>10.1f}"
                f"{result['failed']:>10.0f}{result['cpu_us']:>12.0f}"
            )
        print(
            f"edge / floor throughput: {edge_result['rps'] / floor_result['rps']:.2f}x"
            f"  ({args.clients} clients, {args.seconds} s each; target >= 1.3x)"
        )
        floor_latencies = asyncio.run(steady(floor_url, None, args.rate, args.steady_seconds))
        latencies = asyncio.run(steady(edge.url, token, args.rate, args.steady_seconds))
        floor_cuts = statistics.quantiles(floor_latencies, n=100)
        cuts = statistics.quantiles(latencies, n=100)
        print(
            f"floor at a steady {args.rate} requests/s for {args.steady_seconds} s:"
            f" p50 {floor_cuts[49]:.1f} ms, p99 {floor_cuts[98]:.1f} ms"
        )
        print(
            f"edge at a steady {args.rate} requests/s for {args.steady_seconds} s:"
            f" p50 {cuts[49]:.1f} ms, p99 {cuts[98]:.1f} ms"
            f" (target p99 <= the floor's + 2 ms: {floor_cuts[98] + 2:.1f} ms)"
        )
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "guardpost-edge"),
                "verify",
                "--data",
                str(edge.data),
            ],
            capture_output=True,
            text=True,
        )
        print(f"guardpost-edge verify: {result.stdout.strip() or result.stderr.strip()}")
    finally:
        edge.stop()
        floor.terminate()
        floor.wait(timeout=10)
    return Case(floor_result, edge_result, floor_cuts, cuts)


def figures(case: Case, prefix: str = "") -> list[Figure]:
    """What `record` keeps of one case (`prefix` names the slow disk's)."""
    floor, edge = case.floor, case.edge
    return [
        higher(f"{prefix}floor", floor["rps"], "requests/s"),
        lower(f"{prefix}floor p99", floor["p99"], "ms"),
        higher(f"{prefix}edge", edge["rps"], "requests/s"),
        lower(f"{prefix}edge p50", edge["p50"], "ms"),
        lower(f"{prefix}edge p99", edge["p99"], "ms"),
        higher(f"{prefix}edge / floor", edge["rps"] / floor["rps"], "x"),
        lower(f"{prefix}floor CPU per request", floor["cpu_us"], "us"),
        lower(f"{prefix}edge CPU per request", edge["cpu_us"], "us"),
        lower(f"{prefix}floor steady p99", case.floor_cuts[98], "ms"),
        lower(f"{prefix}steady p50", case.cuts[49], "ms"),
        lower(f"{prefix}steady p99", case.cuts[98], "ms"),
    ]


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    main()
