#!/usr/bin/env python3
"""How long the tablet's busiest pages take on the post's side with a busy day behind them:
500 visits today (half still on site, 40 with a resident's answer pending), 30 open incidents.

    .venv/bin/python scripts/bench_pages.py [--visits 500] [--requests 50]

Starts a real post (`guardpost-edge serve`) on a free port with its data in a temp dir, logs
in through the login page, and times each page's full answer over HTTP (median and p95).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench_args import parse_counts  # noqa: E402
from bench_record import Figure, lower, record  # noqa: E402

from tests.helpers import free_port  # noqa: E402

BIN = Path(sys.executable).parent
EDGE = str(BIN / "guardpost-edge")


def edge(*args: str) -> str:
    return subprocess.run([EDGE, *args], check=True, capture_output=True, text=True).stdout


def main() -> None:
    args = parse_counts(__doc__.split("\n\n")[0], visits=500, requests=50)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "post"
        edge("init", "--data", str(data), "--site", "bench", "--device", "lobby-1")
        edge(
            "add-guard", "--data", str(data), "--badge", "1001", "--name", "Bench", "--pin", "2468"
        )
        units = ["unit,intercom,residents"] + [
            f"{f}{u},{f:02d}0{u},Resident {f}{u}" for f in range(1, 41) for u in "ABCD"
        ]
        (data / "units.csv").write_text("\n".join(units) + "\n")
        edge("import-units", "--data", str(data), str(data / "units.csv"))
        port = free_port()
        # a gateway nobody answers, so 40 visits stay pending for the home page's list
        proc = subprocess.Popen(
            [
                EDGE,
                "serve",
                "--data",
                str(data),
                "--port",
                str(port),
                "--intercom-webhook",
                f"http://127.0.0.1:{free_port()}/",
                "--intercom-secret",
                "bench",
                "--confirm-timeout",
                "3600",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    httpx.get(f"{url}/healthz", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            token = httpx.post(
                f"{url}/api/v1/auth/login", json={"badge": "1001", "pin": "2468"}
            ).json()["token"]
            api = httpx.Client(
                base_url=f"{url}/api/v1", timeout=30, headers={"Authorization": f"Bearer {token}"}
            )
            for n in range(args.visits):
                unit = f"{n % 40 + 1}{'ABCD'[n % 4]}"
                visit = api.post(
                    "/visits",
                    json={
                        "visitor_name": f"Visitor {n}",
                        "unit": unit,
                        "category": "guest",
                        "id_number": f"A{n:07d}(1)",
                    },
                ).json()
                if n >= 40:
                    api.post(f"/visits/{visit['id']}/override", json={"reason": "bench"})
                if n % 2 and n >= 40:
                    api.post(f"/visits/{visit['id']}/checkout", json={})
            for n in range(30):
                api.post(
                    "/incidents",
                    json={
                        "category": "complaint",
                        "severity": ("minor", "medium", "severe")[n % 3],
                        "title": f"Incident {n}",
                    },
                )
            api.close()
            page = httpx.Client(base_url=url, timeout=30, follow_redirects=False)
            page.post("/login", data={"badge": "1001", "pin": "2468"})
            print(
                f"{args.visits} visits today, 30 open incidents; {args.requests} requests "
                "per page, one at a time"
            )
            figures: list[Figure] = []
            for path in ("/", "/visits", "/logbook", "/visits/new"):
                times = []
                for _ in range(args.requests):
                    started = time.perf_counter()
                    answer = page.get(path)
                    times.append((time.perf_counter() - started) * 1000)
                    assert answer.status_code == 200, (path, answer.status_code)
                times.sort()
                p95 = times[int(len(times) * 0.95) - 1]
                print(
                    f"  GET {path:<12} median {statistics.median(times):6.1f} ms   "
                    f"p95 {p95:6.1f} ms   {len(answer.content) // 1024} KiB"
                )
                figures += [
                    lower(f"GET {path} median", statistics.median(times), "ms"),
                    lower(f"GET {path} p95", p95, "ms"),
                ]
            page.close()
            record("pages", figures, args)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
