"""Fleet benchmark (issue: run a company's posts from the hub): how long a change made at the
hub takes to be in force at a post, on a real broker, hub and post (loopback).

For each of `--rounds` rounds it times, from the moment the hub's API answers:
  settings   a new settings version until the post's GET /api/v1/settings shows it;
  disable    a guard disabled at the hub until the post refuses their token (401);
  command    a status command until the post's incident has the new status, and until the
             hub's GET /commands/{id} says `applied` (the post's event came back up).
It prints the median, 95th percentile and worst of each, in milliseconds. The contract asks
for a disabled guard to be refused within 10 s of delivery.

Run: .venv/bin/python scripts/bench_fleet.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_record import lower, record  # noqa: E402

from tests.helpers import Company  # noqa: E402

SITE = "harbour-view"
POLL_S = 0.002


def until(check: Callable[[], bool], timeout_s: float = 30.0) -> float:
    """Milliseconds until `check()` is true (polling every 2 ms)."""
    started = time.perf_counter()
    while not check():
        if time.perf_counter() - started > timeout_s:
            raise TimeoutError("the change did not arrive in time")
        time.sleep(POLL_S)
    return (time.perf_counter() - started) * 1000


def summary(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"{name:<16} median {statistics.median(ordered):7.1f} ms   p95 {p95:7.1f} ms"
        f"   worst {ordered[-1]:7.1f} ms   ({len(ordered)} rounds)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    timings: dict[str, list[float]] = {
        "settings": [],
        "disable": [],
        "command at post": [],
        "command settled": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        company = Company(Path(tmp))
        post, hub = company.start_with_post(SITE)
        try:
            with hub.client() as manager, post.client(post.login()) as guard:
                for round_no in range(1, rounds + 1):
                    changed = manager.put(
                        f"/sites/{SITE}/settings", json={"idle_minutes": 5 + round_no}
                    )
                    version = changed.json()["version"]
                    timings["settings"].append(
                        until(
                            lambda v=version: (
                                guard.get("/settings").json()["versions"]["settings"] == v
                            )
                        )
                    )

                    badge = f"7{round_no:03d}"
                    roster = guard.get("/settings").json()["versions"]["roster"]
                    added = manager.post(
                        "/guards",
                        json={"badge": badge, "name": "Relief", "pin": "8642", "sites": [SITE]},
                    )
                    assert added.status_code == 201, added.text
                    # a login before the roster arrives would count towards the lockout
                    until(lambda r=roster: guard.get("/settings").json()["versions"]["roster"] > r)
                    token = post.login({"badge": badge, "pin": "8642"})
                    with post.client(token) as relief:
                        manager.post(f"/guards/{badge}/disable", json={"reason": "left"})
                        timings["disable"].append(
                            until(lambda r=relief: r.get("/sync").status_code == 401)
                        )

                    incident = guard.post(
                        "/incidents",
                        json={"category": "noise", "severity": "minor", "title": "bench"},
                    ).json()
                    until(lambda i=incident: manager.get(f"/incidents/{i['id']}").is_success)
                    sent = manager.post(
                        f"/incidents/{incident['id']}/status", json={"status": "acknowledged"}
                    ).json()
                    started = time.perf_counter()
                    timings["command at post"].append(
                        until(
                            lambda i=incident: (
                                guard.get(f"/incidents/{i['id']}").json()["status"]
                                == "acknowledged"
                            )
                        )
                    )
                    until(
                        lambda c=sent: (
                            manager.get(f"/commands/{c['command_id']}").json()["state"] == "applied"
                        )
                    )
                    timings["command settled"].append((time.perf_counter() - started) * 1000)
        finally:
            company.stop_all(hub)
    print(f"bench_fleet: a change at the hub until it is in force at the post ({rounds} rounds)")
    for name, values in timings.items():
        print(summary(name, values))
    record(
        "fleet",
        [
            lower(f"{name} {stat}", value, "ms")
            for name, values in timings.items()
            for stat, value in (("median", statistics.median(values)), ("worst", max(values)))
        ],
        {"rounds": rounds},
    )


if __name__ == "__main__":
    main()
