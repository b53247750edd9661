"""A full disk at the post (issue 12, point 2): the requests whose commit fails get 507 at
once, the writer lives on, the tablet says the disk is full, writes work again once space is
freed, nothing is half-written and SIGTERM still stops the service. On a real 2 MB tmpfs."""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from service.pages import csrf_token

from .helpers import EDGE, EdgeServer, init_post, run_edge, tmpfs

VISIT = {
    "visitor_name": "李小明",
    "unit": "12A",
    "category": "guest",
    "notes": "x" * 500,
    "company": "Harbour Deliveries Ltd",
}
DISK_FULL = {
    "detail": [
        {
            "loc": [],
            "type": "disk_full",
            "msg": "the post's disk is full; nothing was saved. Free some space, then try again",
        }
    ]
}


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs under tmp_path (needs root: `mount`)."""
    with tmpfs(tmp_path / "disk", "2m") as mount:
        yield mount


@dataclass
class PostOn(EdgeServer):
    """An edge server whose data is on `post` while its log stays outside (in `data`)."""

    post: Path = field(default_factory=Path)

    def command(self) -> list[str]:
        return [EDGE, "serve", "--data", str(self.post), "--port", str(self.port)]


def fill(path: Path) -> None:
    """Write `path` until the file system has no space left."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 16, 4096, 512):
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    break
    finally:
        os.close(fd)


def test_a_full_disk_answers_507_and_writes_resume_once_space_is_freed(
    small_disk: Path, tmp_path: Path
) -> None:
    post = small_disk / "post"
    init_post(post)
    # the default reserve: none on a disk this small (tests/test_post_health.py has one), so
    # the disk really fills
    edge = PostOn(tmp_path, post=post).start()
    try:
        token = edge.login()
        cookies = {"gp_session": token}
        stored = []
        with edge.client(token) as api:
            first = api.post("/visits", json=VISIT)
            assert first.status_code == 201, first.text
            stored.append(first.json()["id"])
            fill(small_disk / "filler")
            # what the WAL already holds may take a few more commits: then the disk is full
            answers = []
            for _ in range(200):
                answer = api.post("/visits", json=VISIT)
                answers.append(answer.status_code)
                if answer.status_code != 201:
                    break
                stored.append(answer.json()["id"])
            assert answers[-1] == 507, answers
            assert set(answers[:-1]) <= {201}
            assert answer.json() == DISK_FULL
            # the writer lives on: the next request is answered too, not left waiting
            assert api.post("/visits", json=VISIT).status_code == 507

            # a page form says so, in the page's language, and so does the status bar
            form = httpx.post(
                f"{edge.url}/visits/new?lang=zh-Hant",
                cookies=cookies,
                data={**VISIT, "csrf": csrf_token(token)},
                timeout=30,
            )
            assert form.status_code == 507
            assert form.headers["content-type"].startswith("text/html")
            assert "磁碟已滿：未能儲存任何資料。請通知主管。" in form.text
            home = httpx.get(f"{edge.url}/?lang=en", cookies=cookies, timeout=30)
            assert "Disk full: nothing can be saved" in home.text

            (small_disk / "filler").unlink()
            again = api.post("/visits", json=VISIT)
            assert again.status_code == 201, again.text
            stored.append(again.json()["id"])
            home = httpx.get(f"{edge.url}/?lang=en", cookies=cookies, timeout=30)
            assert "Disk full" not in home.text
            listed = {v["id"] for v in api.get("/visits").json()["visits"]}
            assert listed == set(stored)
        assert edge.proc is not None
        edge.proc.terminate()
        assert edge.proc.wait(timeout=30) is not None  # SIGTERM still stops the service
    finally:
        edge.stop()
    result = run_edge("verify", "--data", str(post))
    conn = sqlite3.connect(f"file:{post / 'guardpost.db'}?mode=ro", uri=True)
    seqs = [r[0] for r in conn.execute("SELECT seq FROM events ORDER BY seq")]
    visits = [r[0] for r in conn.execute("SELECT id FROM visits")]
    conn.close()
    assert (result.returncode, result.stdout) == (0, f"ok {len(seqs)} events\n")
    assert seqs == list(range(1, len(seqs) + 1))
    assert sorted(visits) == sorted(stored)  # nothing half-written: every 507 left no trace


def test_a_group_whose_transaction_is_lost_fails_its_callers_and_the_writer_goes_on(
    tmp_path: Path,
) -> None:
    """What SQLite does on a full disk or an I/O error (it rolls the whole transaction back
    under the writer) must not kill the writer: every caller is answered, none waits."""
    from concurrent.futures import Future, wait

    from edge.logbook import Actor, Logbook, init_data_dir
    from service import errors

    init_data_dir(tmp_path, "harbour-view", "lobby-1")
    book = Logbook(tmp_path)
    guard = Actor("guard", "1001")

    def lost(conn: sqlite3.Connection) -> None:
        book.shift_notes.add_work("half-written", guard)(conn)
        conn.execute("ROLLBACK")  # as SQLite does by itself when the disk fills mid-statement
        raise sqlite3.OperationalError("disk I/O error")

    try:
        futures: list[Future[object]] = []
        solo = 0
        for round_ in range(20):  # the lost job shares its group with good notes, or not
            alone = book.shift_notes.add_work(f"alone {round_}", guard)
            assert book.writer.submit(alone).result(timeout=30)
            solo += 1
            futures.append(book.writer.submit(book.shift_notes.add_work(f"before {round_}", guard)))
            futures.append(book.writer.submit(lost))
            futures.append(book.writer.submit(book.shift_notes.add_work(f"after {round_}", guard)))
            wait(futures[-3:], timeout=30)
        outcomes = []
        for future in futures:
            try:
                future.result(timeout=30)
                outcomes.append("ok")
            except errors.StorageFailed as exc:
                outcomes.append(exc.type)
        assert outcomes[1::3] == ["storage_failed"] * 20
        later = book.writer.submit(book.shift_notes.add_work("later", guard)).result(timeout=30)
        assert later["text"] == "later"
        notes = [r[0] for r in book.reader.execute("SELECT text FROM shift_notes")]
        seqs = [r[0] for r in book.reader.execute("SELECT seq FROM events ORDER BY seq")]
        assert "half-written" not in notes
        assert len(notes) == solo + outcomes.count("ok") + 1
        assert seqs == list(range(1, len(notes) + 1))
    finally:
        book.close()
    refused = book.writer.submit(book.shift_notes.add_work("after close", guard))
    with pytest.raises(errors.StorageFailed):
        refused.result(timeout=5)  # a closed logbook answers at once, never leaves one waiting
