"""`guardpost-edge backup` (issue 18, point 3): a copy taken while guards register visitors is
one consistent moment that restores into a data directory which verifies and holds every visit
answered before the backup began; the daily job keeps the last N."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from edge.logbook import verify_logbook

from .helpers import EdgeServer, init_small_post, run_edge, running, wait_until

VISIT = {"visitor_name": "黃小姐", "unit": "12A", "category": "delivery", "phone": "91234567"}


@pytest.fixture(scope="module")
def shared_post(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeServer]:
    """One served post with a guard and units, for the module."""
    data = tmp_path_factory.mktemp("backup") / "post"
    init_small_post(data)
    with running(EdgeServer(data)) as server:
        yield server


def restored(backup: Path, key_from: Path, into: Path) -> Path:
    """A data directory made from a backup file and the post's ID-number key (docs/deploy.md)."""
    into.mkdir()
    shutil.copyfile(backup, into / "guardpost.db")
    shutil.copyfile(key_from / "id-hmac.key", into / "id-hmac.key")
    return into


def test_a_backup_taken_during_200_registrations_restores_to_a_verified_logbook(
    shared_post: EdgeServer, tmp_path: Path
) -> None:
    edge, post = shared_post, shared_post.data
    answered: list[str] = []  # visit ids, in the order their 201 arrived
    lock = threading.Lock()
    token = edge.login()

    def register(count: int) -> None:
        with httpx.Client(
            base_url=f"{edge.url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as api:
            for _ in range(count):
                answer = api.post("/visits", json=VISIT)
                assert answer.status_code == 201, answer.text
                with lock:
                    answered.append(answer.json()["id"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(register, 25) for _ in range(8)]  # 200 registrations
        wait_until(lambda: len(answered) >= 40, 60, "the first registrations")
        with lock:
            before = list(answered)
        started = time.monotonic()
        result = run_edge("backup", "--data", str(post), "--to", str(tmp_path / "copy.db"))
        took_s = time.monotonic() - started
        with lock:
            during = len(answered) - len(before)
        for future in futures:
            future.result()
    assert result.returncode == 0, result.stderr
    assert during > 0, "no registration was answered while the backup ran"
    assert took_s < 20
    copy = restored(tmp_path / "copy.db", post, tmp_path / "restored")
    verified = run_edge("verify", "--data", str(copy))
    conn = sqlite3.connect(copy / "guardpost.db")
    seqs = [r[0] for r in conn.execute("SELECT seq FROM events ORDER BY seq")]
    visits = {r[0] for r in conn.execute("SELECT id FROM visits")}
    conn.close()
    assert verified.returncode == 0 and verified.stdout == f"ok {len(seqs)} events\n"
    assert result.stdout == (
        f"backed up {len(seqs)} events (last seq {len(seqs)}) to {tmp_path / 'copy.db'}\n"
    )
    assert set(before) <= visits  # every visit answered before the backup began
    assert visits <= set(answered)
    # the post went on: it holds the rest too (`verify`'s check, read-only, in this process)
    assert verify_logbook(post) == (len(seqs) + len(set(answered) - visits), None)


def test_the_daily_backup_keeps_the_newest_and_refuses_a_bad_target(
    shared_post: EdgeServer, tmp_path: Path
) -> None:
    post = shared_post.data
    backups = tmp_path / "backups"
    backups.mkdir()
    made = []
    for _ in range(2):
        result = run_edge("backup", "--data", str(post), "--to", str(backups), "--keep", "1")
        assert result.returncode == 0, result.stderr
        made.append(Path(result.stdout.split(" to ")[1].split(";")[0].strip()))
    assert sorted(backups.iterdir()) == made[1:]
    assert result.stdout.endswith("; removed 1 older\n")
    assert made[-1].name.startswith("guardpost-harbour-view-lobby-1-")
    assert made[-1].stat().st_mode & 0o077 == 0  # personal data: the owner's only

    missing = run_edge("backup", "--data", str(post), "--to", str(tmp_path / "no" / "x.db"))
    assert (missing.returncode, missing.stdout) == (2, "")
    assert missing.stderr == f"Error: --to: {tmp_path / 'no'} is not a directory\n"
