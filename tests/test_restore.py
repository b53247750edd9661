"""Replacing a dead post from the hub (issue 18, point 4): a post with 5,000 events, some of its
visitors purged, syncs; its card dies; a fresh card made by `init` for the same site and device
is restored from the hub, verifies, holds the same register with the purged still purged, and
its next events reach the hub as a continuation of the chain, not as tampering."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser

from schemas.ids import format_time, utc_now
from schemas.topics import status_topic
from service import __version__

from .browser import (
    PHONE,
    contrast,
    hub_log_in,
    serious_axe_violations,
    signed_in,
    tab,
    too_wide,
)
from .conftest import BOTH_ENGINES
from .helpers import (
    GUARD,
    MANAGER,
    UNITS_CSV,
    Company,
    EdgeServer,
    HubServer,
    Tap,
    add_guard,
    add_user,
    free_port,
    import_units,
    key_values,
    run_edge,
    run_hub,
    wait_until,
)
from .test_clock import faked

pytestmark = BOTH_ENGINES  # the hub's copy of a post's events, on both of its engines

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


def provision(company: Company, device: str) -> dict[str, str]:
    result = run_hub(
        "provision-device", "--data", str(company.hub_data), "--site", "harbour-view",
        "--device", device,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return key_values(result.stdout)


def login_of(account: dict[str, str]) -> tuple[str, str]:
    return account["username"], account["password"]


def device_card(page: str, device: str) -> str:
    start = page.index(f'data-device="{device}"')
    return page[start : page.index("</li>", start)]


def warns_of_an_old_post(
    company: Company, hub: HubServer, account: dict[str, str], browser: Browser
) -> None:
    """An older post's status (no `disk_free_mb`) is still read; then one with little disk and
    a clock ahead: the hub shows each post's version and free disk, and warns of that one in
    the supervisor's language."""
    tap = Tap(company, *login_of(account))
    topic = status_topic("harbour-view", "lobby-2")
    older = {"online": True, "last_seq": 0, "version": "0.0.9"}
    with hub.client() as desk:

        def lobby2() -> dict[str, Any]:
            devices = desk.get("/devices").json()["devices"]
            return next((dict(d) for d in devices if d["device"] == "lobby-2"), {})

        try:
            tap.publish(topic, json.dumps(older).encode())
            seen = wait_until(lambda: lobby2().get("version") and lobby2())
            assert (seen["disk_free_mb"], seen["tampered"]) == (None, False)
            ahead = format_time(utc_now() + timedelta(seconds=125))
            low = {**older, "disk_free_mb": 120, "clock": ahead}
            tap.publish(topic, json.dumps(low).encode())
            wait_until(lambda: lobby2().get("disk_free_mb") == 120)
        finally:
            tap.close()
    with signed_in(hub.url, MANAGER) as desk:
        page = desk.get("/", params={"lang": "zh-Hant"}).text
        english = device_card(desk.get("/", params={"lang": "en"}).text, "lobby-2")
        settings = desk.get("/sites/harbour-view/settings", params={"lang": "zh-Hans"}).text
    card = device_card(page, "lobby-2")
    assert "磁碟快滿：只餘 120 MB。" in card
    assert "版本 0.0.9 比總部舊：請更新崗位。" in card
    assert "時鐘相差 12" in card  # 125 s, less the message's time on the way
    assert "data-warning" not in device_card(page, "lobby-1")
    assert f"軟件版本 {__version__}" in device_card(page, "lobby-1")
    assert "Disk nearly full: 120 MB left." in english
    assert f'data-version="{__version__}"' in settings and "软件版本 0.0.9" in settings
    for tablet in tab(browser, viewport=PHONE):  # a supervisor's phone
        hub_log_in(tablet, hub, MANAGER, "zh-Hant")
        assert too_wide(tablet) is None
        assert serious_axe_violations(tablet) == []
        badges = tablet.locator("[data-warning]").all()
        assert len(badges) == 3  # low disk, clock, old version: readable in the sun
        assert all(contrast(badge) >= 4.5 for badge in badges)


def test_a_dead_post_is_restored_from_the_hub_and_continues_its_chain(
    tmp_path: Path, browser: Browser
) -> None:
    company = Company(tmp_path)
    account = provision(company, "lobby-1")
    old_post = provision(company, "lobby-2")  # never started: the test speaks for it
    post = EdgeServer(
        tmp_path / "post", extra_args=["--broker", company.broker.url(*login_of(account))]
    )
    init = ("init", "--data", str(post.data), "--site", "harbour-view", "--device", "lobby-1")
    assert run_edge(*init, "--id-key", account["id_key"]).returncode == 0
    assert add_guard(post.data, GUARD).returncode == 0
    assert import_units(post.data, tmp_path / "units.csv", UNITS_CSV).returncode == 0
    add_user(company.hub_data, SUPERVISOR_AT_HUB, "supervisor", "harbour-view")
    register_many(post.data, 2000, 0, faked("-40d"))  # 40 days ago: past retention now
    purge = run_edge("purge", "--data", str(post.data), "--trust-clock")
    assert purge.stdout.startswith("purged personal data of 2000 visits"), purge.stdout
    register_many(post.data, 3000, 2000)
    before = register_state(post.data)

    hub = company.start_hub()
    company.extra.append(post)
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

            def device(name: str = "lobby-1") -> dict[str, Any]:
                devices = desk.get("/devices").json()["devices"]
                return next((dict(d) for d in devices if d["device"] == name), {})

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
            assert device()["version"] == __version__ and device()["disk_free_mb"] > 0
            warns_of_an_old_post(company, hub, old_post, browser)
            post.stop()
            shutil.rmtree(post.data)  # the card dies

            fresh = tmp_path / "new-card"
            init = ("init", "--data", str(fresh), "--site", "harbour-view", "--device", "lobby-1")
            assert run_edge(*init, "--id-key", account["id_key"]).returncode == 0
            restore = ("restore", "--data", str(fresh), "--from-hub", hub.url, "--token")

            token = hub_token(hub.url, MANAGER)
            supervisor = hub_token(hub.url, SUPERVISOR_AT_HUB)
            path = f"{hub.url}/api/v1/devices/harbour-view"
            for method, url, who, status in (
                ("GET", f"{path}/lobby-1/events", None, 401),
                ("GET", f"{path}/lobby-1/events", supervisor, 403),  # a manager's only
                ("POST", f"{path}/lobby-1/resend", supervisor, 403),
                ("GET", f"{path}/lobby-9/events", token, 404),
                ("GET", f"{path}/lobby-1/events?limit=5001", token, 422),
            ):
                headers = {"Authorization": f"Bearer {who}"} if who else {}
                answer = httpx.request(method, url, headers=headers, timeout=30)
                assert answer.status_code == status, (method, url, answer.text)
            page = httpx.get(
                f"{path}/lobby-1/events",
                params={"after": 10, "limit": 3},
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            ).json()
            assert [e["seq"] for e in page["events"]] == [11, 12, 13]
            assert (page["next_after"], page["acked_seq"]) == (13, last_seq)
            visits = [e for e in page["events"] if e["type"] == "visit.registered"]
            assert visits and all(e["pii"] is None for e in visits)  # purged at the hub too

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


def test_a_restore_that_cannot_reach_the_hub_is_one_line_and_writes_nothing(
    tmp_path: Path,
) -> None:
    card = tmp_path / "card"
    init = ("init", "--data", str(card), "--site", "harbour-view", "--device", "lobby-1")
    assert run_edge(*init).returncode == 0
    before = (card / "guardpost.db").read_bytes()
    for hub_url, line in (
        (
            f"http://127.0.0.1:{free_port()}",
            "Error: cannot reach the hub ([Errno 111] Connection refused); nothing was restored\n",
        ),
        ("ftp://hub.example", "Error: --from-hub must be an http:// or https:// URL\n"),
    ):
        result = run_edge("restore", "--data", str(card), "--from-hub", hub_url, "--token", "t")
        assert (result.returncode, result.stdout, result.stderr) == (2, "", line)
    assert (card / "guardpost.db").read_bytes() == before
