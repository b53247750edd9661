"""A post's health (issue 18, point 2): `GET /api/v1/health` without a login, the reserve of free
disk below which the post refuses new records with 507 (and says so on the tablet), and when the
hub calls a post silent. The hub's warnings from the posts' status messages are checked with a
real post and hub in tests/test_restore.py (`warns_of_an_old_post`)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from edge.logbook import verify_logbook
from hub.device_health import device_warnings
from schemas.ids import format_time, utc_now
from service import __version__

from .helpers import init_small_post, tmpfs
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
    """A 64 MB tmpfs under tmp_path (needs root: `mount`): a tenth of it is more than the
    test's 4 MB reserve, which the post would otherwise shrink to fit a small disk."""
    with tmpfs(tmp_path / "disk", "64m") as mount:
        yield mount


def test_a_post_refuses_new_records_at_its_disk_reserve_and_says_so(
    small_disk: Path, tmp_path: Path
) -> None:
    post = small_disk / "post"
    init_small_post(post)
    edge = PostOn(tmp_path, post=post, env={"GUARDPOST_DISK_RESERVE_MB": "4"}).start()
    try:
        health = httpx.get(f"{edge.url}/api/v1/health", timeout=30).json()  # no login
        assert set(health) == HEALTH_KEYS
        assert health["ok"] is health["db_ok"] is True
        assert health["version"] == __version__
        assert 4 < health["disk_free_mb"] <= 64
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
    intact = verify_logbook(post)  # `verify`'s check, read-only
    conn = sqlite3.connect(f"file:{post / 'guardpost.db'}?mode=ro", uri=True)
    visits = sorted(r[0] for r in conn.execute("SELECT id FROM visits"))
    conn.close()
    assert intact == (2, None)  # the two visits, and nothing of the refused one
    assert visits == sorted([first.json()["id"], again.json()["id"]])  # the 507 left no trace


def test_the_hub_warns_of_a_post_silent_past_its_usual_gap_and_not_before() -> None:
    now = utc_now()
    quiet = {"last_seen": format_time(now - timedelta(minutes=47)), "version": __version__}
    assert device_warnings(quiet, now) == [{"kind": "silent", "minutes": 47}]
    recent = {**quiet, "last_seen": format_time(now - timedelta(seconds=40))}
    assert device_warnings(recent, now) == []
    newer = {**recent, "version": "99.0.0", "disk_free_mb": 500, "clock_offset_s": -60.0}
    assert device_warnings(newer, now) == []  # a newer post, 500 MB, a minute off: all fine
