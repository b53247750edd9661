"""A post's health (issue 18, point 2): `GET /api/v1/health` without a login, the reserve of free
disk below which the post refuses new records with 507 (and says so on the tablet), the status
message that carries the version and free disk to the hub, and the hub's warnings per post."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from hub.device_health import device_warnings
from schemas.ids import format_time, utc_now
from schemas.topics import status_topic
from service import __version__

from .browser import signed_in
from .helpers import GUARD, MANAGER, Company, Tap, init_post, run_edge, tmpfs, wait_until
from .test_storage_faults import VISIT, PostOn

HEALTH_KEYS = {
    "ok",
    "version",
    "db_ok",
    "disk_free_mb",
    "clock",
    "broker_connected",
    "last_ack_at",
}


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MB tmpfs under tmp_path (needs root: `mount`)."""
    with tmpfs(tmp_path / "disk", "8m") as mount:
        yield mount


def test_a_post_refuses_new_records_at_its_disk_reserve_and_says_so(
    small_disk: Path, tmp_path: Path
) -> None:
    post = small_disk / "post"
    init_post(post)
    edge = PostOn(tmp_path, post=post, env={"GUARDPOST_DISK_RESERVE_MB": "4"}).start()
    try:
        health = httpx.get(f"{edge.url}/api/v1/health", timeout=30).json()  # no login
        assert set(health) == HEALTH_KEYS
        assert health["ok"] is health["db_ok"] is True
        assert health["version"] == __version__
        assert 4 < health["disk_free_mb"] <= 8
        assert (health["broker_connected"], health["last_ack_at"]) == (False, None)
        token = edge.login()
        with edge.client(token) as api:
            first = api.post("/visits", json=VISIT)
            assert first.status_code == 201, first.text
            # leave 3 MB free: below the 4 MB reserve, though the disk is far from full
            filler = small_disk / "filler"
            free = os.statvfs(small_disk)
            filler.write_bytes(b"\0" * (free.f_bavail * free.f_frsize - 3 * 1024 * 1024))
            refused = api.post("/visits", json=VISIT)
            assert refused.status_code == 507
            assert refused.json()["detail"][0]["type"] == "disk_full"
            assert "nearly full (less than 4 MB free)" in refused.json()["detail"][0]["msg"]
            health = httpx.get(f"{edge.url}/api/v1/health", timeout=30).json()
            assert (health["ok"], health["db_ok"], health["disk_free_mb"]) == (False, True, 3)
            edge.login()  # the post's own bookkeeping writes into the reserve: a guard logs in
            home = httpx.get(f"{edge.url}/?lang=zh-Hant", cookies={"gp_session": token})
            assert "磁碟快滿：新紀錄未能儲存。請通知主管。" in home.text

            filler.unlink()
            again = api.post("/visits", json=VISIT)
            assert again.status_code == 201, again.text
            assert httpx.get(f"{edge.url}/api/v1/health", timeout=30).json()["ok"] is True
            home = httpx.get(f"{edge.url}/?lang=en", cookies={"gp_session": token})
            assert "Disk nearly full" not in home.text
    finally:
        edge.stop()
    result = run_edge("verify", "--data", str(post))
    conn = sqlite3.connect(f"file:{post / 'guardpost.db'}?mode=ro", uri=True)
    visits = sorted(r[0] for r in conn.execute("SELECT id FROM visits"))
    conn.close()
    assert result.returncode == 0, result.stdout
    assert visits == sorted([first.json()["id"], again.json()["id"]])  # the 507 left no trace


def overview(hub_url: str, lang: str, path: str = "/") -> str:
    with signed_in(hub_url, MANAGER) as desk:
        answer = desk.get(path, params={"lang": lang})
    assert answer.status_code == 200
    return answer.text


def device_card(page: str, device: str) -> str:
    start = page.index(f'data-device="{device}"')
    return page[start : page.index("</li>", start)]


def test_the_hub_shows_each_posts_version_and_disk_and_warns_of_an_old_post(
    tmp_path: Path,
) -> None:
    company = Company(tmp_path)
    post, hub = company.start_with_post("harbour-view")
    old = company.add_post("harbour-view", "lobby-2")  # never started: we speak for it
    account = old.account  # type: ignore[attr-defined]
    try:
        token = post.login(GUARD)
        with post.client(token) as api:
            assert api.post("/visits", json={**VISIT, "notes": "x"}).status_code == 201
        health = wait_until(
            lambda: (h := httpx.get(f"{post.url}/api/v1/health").json())["last_ack_at"] and h,
            30,
            "the hub's ack",
        )
        assert health["broker_connected"] is True
        with hub.client() as desk:

            def device(name: str) -> dict[str, object]:
                devices = desk.get("/devices").json()["devices"]
                return next((d for d in devices if d["device"] == name), {})

            mine = wait_until(lambda: device("lobby-1").get("version") and device("lobby-1"), 30)
            assert mine["version"] == __version__
            assert isinstance(mine["disk_free_mb"], int) and mine["disk_free_mb"] > 0

            # an older post's status, without `disk_free_mb`: still read, nothing flagged
            tap = Tap(company, account["username"], account["password"])
            topic = status_topic("harbour-view", "lobby-2")
            older = {"online": True, "last_seq": 0, "version": "0.0.9"}
            tap.publish(topic, json.dumps(older).encode())
            lobby2 = wait_until(lambda: device("lobby-2").get("version") and device("lobby-2"))
            assert (lobby2["version"], lobby2["disk_free_mb"], lobby2["tampered"]) == (
                "0.0.9",
                None,
                False,
            )
            ahead = format_time(utc_now() + timedelta(seconds=125))
            tap.publish(topic, json.dumps({**older, "disk_free_mb": 120, "clock": ahead}).encode())
            wait_until(lambda: device("lobby-2").get("disk_free_mb") == 120)
            tap.close()

        page = overview(hub.url, "zh-Hant")
        card = device_card(page, "lobby-2")
        assert "磁碟快滿：只餘 120 MB。" in card
        assert "版本 0.0.9 比總部舊：請更新崗位。" in card
        assert "時鐘相差 12" in card  # 125 s, less the message's time on the way
        assert 'data-warning="' in card and "data-warning" not in device_card(page, "lobby-1")
        assert f"軟件版本 {__version__}" in device_card(page, "lobby-1")
        english = device_card(overview(hub.url, "en"), "lobby-2")
        assert "Disk nearly full: 120 MB left." in english
        settings = overview(hub.url, "zh-Hans", "/sites/harbour-view/settings")
        assert f'data-version="{__version__}"' in settings
        assert "软件版本 0.0.9" in settings
    finally:
        company.stop_all(hub)


def test_the_hub_warns_of_a_post_silent_past_its_usual_gap_and_not_before() -> None:
    now = utc_now()
    quiet = {"last_seen": format_time(now - timedelta(minutes=47)), "version": __version__}
    assert device_warnings(quiet, now) == [{"kind": "silent", "minutes": 47}]
    recent = {**quiet, "last_seen": format_time(now - timedelta(seconds=40))}
    assert device_warnings(recent, now) == []
    newer = {**recent, "version": "99.0.0", "disk_free_mb": 500, "clock_offset_s": -60.0}
    assert device_warnings(newer, now) == []  # a newer post, 500 MB, a minute off: all fine
