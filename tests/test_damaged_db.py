"""Damaged databases (issue 12, point 10): every command that opens a post's data refuses an
empty, foreign or damaged guardpost.db with one line and exit 2, and `verify` never writes to
the file it checks."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from .helpers import free_port, init_post, run_edge

Damage = Callable[[Path], str]  # damages DIR's database; answers the exact error line


def db_file(data: Path) -> Path:
    return data / "guardpost.db"


def checkpointed(data: Path) -> None:
    """Copy the WAL into the database file and drop it, as a stopped post leaves it."""
    conn = sqlite3.connect(db_file(data))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()


def empty(data: Path) -> str:
    db_file(data).write_bytes(b"")
    return f"Error: {db_file(data)} is empty: not a Guardpost edge database"


def random_bytes(data: Path) -> str:
    db_file(data).write_bytes(os.urandom(64 * 1024))
    return f"Error: {db_file(data)} is not an SQLite database"


def foreign(data: Path) -> str:
    """Another application's SQLite database where the post's should be."""
    for path in data.glob("guardpost.db*"):
        path.unlink()
    conn = sqlite3.connect(db_file(data))
    conn.executescript(
        "PRAGMA journal_mode=DELETE; CREATE TABLE songs (title TEXT);"
        " INSERT INTO songs VALUES ('x');"
    )
    conn.close()
    return f"Error: {db_file(data)} is not a Guardpost edge database (no site and device in it)"


def other_application(data: Path) -> str:
    checkpointed(data)
    conn = sqlite3.connect(db_file(data))
    conn.execute("PRAGMA application_id=1234")
    conn.close()
    return f"Error: {db_file(data)} is not a Guardpost edge database (application_id 0x4d2)"


def overwritten_pages(data: Path, table: str = "events") -> str:
    """Junk over the pages of a table and its indexes, in the middle of the file."""
    checkpointed(data)
    conn = sqlite3.connect(db_file(data))
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    roots = [
        r[0]
        for r in conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE tbl_name = ? AND rootpage > 1", (table,)
        )
    ]
    conn.close()
    assert roots
    with db_file(data).open("r+b") as file:
        for page in roots:
            file.seek(page_size * (page - 1))
            file.write(os.urandom(page_size))
    return (
        f"Error: {db_file(data)} is damaged (SQLite's {{check}} failed); restore it from a backup"
    )


def overwritten_projection(data: Path) -> str:
    """Junk over the units' pages: the hash chain still verifies, SQLite's checks do not."""
    return overwritten_pages(data, "units")


def digest(data: Path) -> dict[str, str]:
    """The bytes of the database and its WAL (what a check must leave as it found them)."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(data.glob("guardpost.db*"))
        if not p.name.endswith("-shm")
    }


DAMAGES = [
    empty,
    random_bytes,
    foreign,
    other_application,
    overwritten_pages,
    overwritten_projection,
]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("pristine") / "post1"
    init_post(data)
    return data


@pytest.fixture
def post(pristine: Path, tmp_path: Path) -> Path:
    """A copy of an initialised post (guards, units, keys), made once per module."""
    return Path(shutil.copytree(pristine, tmp_path / "post1"))


@pytest.mark.parametrize("damage", DAMAGES, ids=lambda d: d.__name__)
def test_verify_refuses_a_damaged_database_without_writing_to_it(
    post: Path, damage: Damage
) -> None:
    line = damage(post).format(check="integrity_check")
    before = digest(post)
    result = run_edge("verify", "--data", str(post))
    assert (result.returncode, result.stdout, result.stderr) == (2, "", line + "\n")
    assert digest(post) == before


@pytest.mark.parametrize("damage", DAMAGES, ids=lambda d: d.__name__)
def test_serve_refuses_a_damaged_database(post: Path, damage: Damage) -> None:
    line = damage(post).format(check="quick_check")
    before = digest(post)
    result = run_edge("serve", "--data", str(post), "--port", str(free_port()))
    assert (result.returncode, result.stderr) == (2, line + "\n")
    assert digest(post) == before


@pytest.mark.parametrize("damage", [empty, overwritten_pages], ids=lambda d: d.__name__)
@pytest.mark.parametrize(
    "command",
    [
        ["purge"],
        ["add-guard", "--badge", "7", "--name", "N", "--pin", "1234"],
        ["add-key", "--scope", "door", "--name", "d"],
        ["init", "--site", "harbour-view", "--device", "lobby-1"],
    ],
    ids=lambda c: c[0],
)
def test_every_command_refuses_a_damaged_database(
    post: Path, damage: Damage, command: list[str]
) -> None:
    line = damage(post).format(check="quick_check")
    before = digest(post)
    result = run_edge(command[0], "--data", str(post), *command[1:])
    assert (result.returncode, result.stderr) == (2, line + "\n")
    assert digest(post) == before


def test_verify_of_a_sound_database_writes_nothing_and_counts_its_events(post: Path) -> None:
    checkpointed(post)
    before = digest(post)
    result = run_edge("verify", "--data", str(post))
    assert (result.returncode, result.stdout, result.stderr) == (0, "ok 0 events\n", "")
    assert digest(post) == before
