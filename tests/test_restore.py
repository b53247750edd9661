"""Replacing a dead post from the hub (issue 18, point 4): a post with 5,000 events, some of its
visitors purged, syncs; its card dies; a fresh card made by `init` for the same site and device
is restored from the hub, verifies, holds the same register with the purged still purged, and
its next events reach the hub as a continuation of the chain, not as tampering."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from .helpers import (
    GUARD,
    MANAGER,
    Company,
    EdgeServer,
    add_guard,
    add_user,
    run_edge,
    wait_until,
)
from .test_clock import faked

SUPERVISOR_AT_HUB = {"username": "wong", "password": "supervisor-pass-1"}


BULK = """
import sys
from pathlib import Path
from edge.logbook import Actor, opened
data, count, start = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
guard = Actor("guard", "1001", "guard", "guard")
with opened(data) as book:
    work = [
        book.visits.register_work(
            {"visitor_name": f"訪客 {start + i}", "unit": "12B", "category": "guest",
             "phone": "6123"},
            guard,
        )
        for i in range(count)
    ]
    book.writer.write(lambda conn: [w(conn) for w in work])
"""


def register_many(data: Path, count: int, start: int, env: dict[str, str] | None = None) -> None:
    """`count` visits in one transaction of the post's own writer, in a child process whose
    clock `env` may move (a bulk path for the test: the command the API runs, without 5,000
    requests)."""
    result = subprocess.run(
        [sys.executable, "-c", BULK, str(data), str(count), str(start)],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def register_state(data: Path) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(data / "guardpost.db")
    try:
        return conn.execute(
            "SELECT id, visitor_name, phone, unit, checked_in_at, purged_at FROM visits ORDER BY id"
        ).fetchall()
    finally:
        conn.close()


def hub_token(hub_url: str, user: dict[str, str]) -> str:
    answer = httpx.post(f"{hub_url}/api/v1/auth/login", json=user, timeout=30)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["token"])


def test_a_dead_post_is_restored_from_the_hub_and_continues_its_chain(tmp_path: Path) -> None:
    company = Company(tmp_path)
    post = company.add_post("harbour-view", "lobby-1")
    account = post.account  # type: ignore[attr-defined]
    add_user(company.hub_data, SUPERVISOR_AT_HUB, "supervisor", "harbour-view")
    register_many(post.data, 2000, 0, faked("-40d"))  # 40 days ago: past retention now
    purge = run_edge("purge", "--data", str(post.data), "--trust-clock")
    assert purge.stdout.startswith("purged personal data of 2000 visits"), purge.stdout
    register_many(post.data, 3000, 2000)
    before = register_state(post.data)

    hub = company.start_hub()
    try:
        post.start()
        with hub.client() as desk, post.client(post.login()) as guard:
            # the hub's directory for the site, which the post applies (an event more)
            units = desk.put(
                "/sites/harbour-view/units",
                content="unit,intercom,residents\n12B,,\n",
                headers={"content-type": "text/csv"},
            )
            assert units.status_code == 200, units.text

            def device() -> dict[str, Any]:
                return dict(desk.get("/devices").json()["devices"][0])

            seen: list[int] = []

            def synced() -> int:
                """The post's last seq once it applied the directory, the hub acked it all
                and it stayed so for a second (the hub may deliver the directory twice)."""
                time.sleep(0.5)
                state = guard.get("/sync").json()
                applied = guard.get("/settings").json()["versions"]["directory"] == 1
                seen.append(int(applied and state["backlog"] == 0 and state["last_seq"]))
                return seen[-1] if seen[-3:] == [seen[-1]] * 3 else 0

            last_seq = wait_until(synced, 60, "the post to apply the directory and sync it all")
            assert last_seq > 5000 and device()["acked_seq"] == last_seq
            post.stop()
            shutil.rmtree(post.data)  # the card dies

            fresh = tmp_path / "new-card"
            init = ("init", "--data", str(fresh), "--site", "harbour-view", "--device", "lobby-1")
            assert run_edge(*init, "--id-key", account["id_key"]).returncode == 0
            restore = ("restore", "--data", str(fresh), "--from-hub", hub.url, "--token")

            wrong = run_edge(*restore, hub_token(hub.url, SUPERVISOR_AT_HUB))
            assert (wrong.returncode, wrong.stdout) == (2, "")
            assert wrong.stderr == (
                "Error: the hub refused the token: it must be a hub manager's; nothing was"
                " restored\n"
            )
            token = hub_token(hub.url, MANAGER)
            other = tmp_path / "other-card"
            assert run_edge("init", "--data", str(other), "--site", "harbour-view",
                            "--device", "lobby-9").returncode == 0  # fmt: skip
            unknown = run_edge(
                "restore", "--data", str(other), "--from-hub", hub.url, "--token", token
            )
            assert (unknown.returncode, unknown.stderr) == (
                2,
                "Error: the hub has no such post; nothing was restored\n",
            )

            done = run_edge(*restore, token)
            assert (done.returncode, done.stdout) == (
                0,
                f"restored {last_seq} events from the hub; the post continues at seq"
                f" {last_seq + 1}\n",
            )
            again = run_edge(*restore, token)
            assert again.returncode == 2
            assert again.stderr == (
                f"Error: {fresh} already has {last_seq} events; restore only into a data"
                " directory freshly made by init\n"
            )
            verified = run_edge("verify", "--data", str(fresh))
            assert verified.stdout == f"ok {last_seq} events\n"
            after = register_state(fresh)
            assert after == before  # the same register, the purged still purged
            assert sum(1 for row in after if row[1] is None and row[5]) == 2000

            # the replacement post goes on: its guards are added again, its next event links
            assert add_guard(fresh, GUARD).returncode == 0
            replacement = EdgeServer(fresh, extra_args=post.extra_args).start()
            company.extra.append(replacement)
            with replacement.client(replacement.login()) as api:
                assert (
                    api.get("/sync").json()["acked_seq"] >= last_seq
                )  # the directory: back already?
                # the hub sends the site's directory again (the new card had none of it): the
                # unit is known, and its `directory.applied` is the event after the last
                visit = {"visitor_name": "新訪客", "unit": "12B", "category": "guest"}
                registered = wait_until(
                    lambda: (a := api.post("/visits", json=visit)).status_code == 201 and a,
                    30,
                    "the hub's directory at the new card",
                )
                seqs = [e["seq"] for e in api.get("/logbook").json()["entries"]]
                assert seqs[-2:] == [last_seq + 1, last_seq + 2], seqs[-3:]
                assert registered.json()["visitor_name"] == "新訪客"
                wait_until(lambda: device()["acked_seq"] == last_seq + 2, 30, "the new events")
            assert (device()["tampered"], device()["backlog"]) == (False, 0), device()[
                "tampered_reason"
            ]
    finally:
        company.stop_all(*company.extra)
