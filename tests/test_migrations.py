"""The one migration runner (service/sqlite.py) under the edge and the hub: databases made by
older code open with their data and the new version stamped, a newer database is refused with
one line, and a migration that fails leaves the database at the version before it."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from edge.logbook import database as edge_db
from edge.logbook.book import Logbook
from hub.store import DB_FILE, Store, connect, init_store
from hub.store.schema import MIGRATIONS as HUB_MIGRATIONS
from service import errors, sqlite

from .helpers import run_edge, run_hub

# a hub database made by the code before numbered migrations (commit 191442c: its connect and
# create_schema, CREATE ... IF NOT EXISTS, user_version 0) with a device and a visit in it, then
# checkpointed and vacuumed to 512-byte pages; `sqlite3 tests/data/hub_v0.db .schema` shows it
HUB_V0 = Path(__file__).parent / "data" / "hub_v0.db"


def columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}


def old_hub(data: Path, changes: tuple[str, ...]) -> Path:
    """A copy of the hub database made before numbered migrations (user_version 0, one visit),
    with `changes` making it older still."""
    data.mkdir(parents=True)
    shutil.copyfile(HUB_V0, data / DB_FILE)
    conn = sqlite3.connect(data / DB_FILE)
    for statement in changes:
        conn.execute(statement)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    conn.close()
    return data


OLDER_HUBS = {
    "as-last-made": (),
    "before-added-columns": (
        "ALTER TABLE visits DROP COLUMN flag",
        "ALTER TABLE incidents DROP COLUMN acknowledged_at",
        "ALTER TABLE incidents DROP COLUMN resolved_at",
    ),
    "before-search": (
        "DROP TABLE search_fts",
        "DROP TABLE search_lines",  # and its triggers
        "DROP TABLE watchlist_sent",
    ),
}


@pytest.mark.parametrize("changes", OLDER_HUBS.values(), ids=OLDER_HUBS.keys())
def test_a_hub_database_from_before_numbered_migrations_opens_with_its_rows(
    tmp_path: Path, changes: tuple[str, ...]
) -> None:
    data = old_hub(tmp_path / "hub", changes)
    store = Store(data)
    try:
        [visit] = store.list_visits(None)
        assert (visit["id"], visit["visitor_name"], visit["unit"]) == (
            "v-old",
            "Chan Tai Man",
            "12A",
        )
        assert visit["flag"] is None
    finally:
        store.close()
    conn = connect(data / DB_FILE)
    assert sqlite.schema_version(conn) == len(HUB_MIGRATIONS)
    assert {"acknowledged_at", "resolved_at"} <= columns(conn, "incidents")
    assert "flag" in columns(conn, "visits")
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert {"search_fts", "search_progress", "search_lines_au", "watchlist_sent"} <= names
    conn.close()
    Store(data).close()  # and opens again, as it is now


def test_a_new_hub_database_is_at_the_newest_version(tmp_path: Path) -> None:
    assert init_store(tmp_path / "hub")
    conn = connect(tmp_path / "hub" / DB_FILE)
    assert sqlite.schema_version(conn) == len(HUB_MIGRATIONS)
    default = conn.execute(
        "SELECT dflt_value FROM pragma_table_info('devices') WHERE name = 'last_hash'"
    ).fetchone()[0]
    assert default == "'" + "0" * 64 + "'"  # schemas.canonical.GENESIS_HASH
    conn.close()


def old_post(data: Path, version: int) -> Path:
    """A post's data directory as the code at schema `version` left it, with a guard in it."""
    data.mkdir(parents=True)
    (data / edge_db.ID_KEY_FILE).write_bytes(b"k" * 32)
    conn = edge_db.connect(data / edge_db.DB_FILE)
    sqlite.migrate(conn, edge_db.MIGRATIONS[:version])
    conn.execute(f"PRAGMA application_id={edge_db.APPLICATION_ID}")
    conn.execute("INSERT INTO meta VALUES ('site', 'harbour-view'), ('device', 'lobby-1')")
    conn.execute(
        "INSERT INTO guards (badge, name, role, pin_hash, created_at)"
        " VALUES ('1001', 'Wong', 'guard', 'x', '2026-01-02T03:04:05.000Z')"
    )
    conn.close()
    return data


@pytest.mark.parametrize("version", range(1, len(edge_db.MIGRATIONS)))
def test_an_edge_database_at_every_older_version_upgrades(tmp_path: Path, version: int) -> None:
    data = old_post(tmp_path / "post", version)
    book = Logbook(data)
    try:
        assert (book.site, book.device) == ("harbour-view", "lobby-1")
        assert book.reader.execute("SELECT name FROM guards").fetchall()[0][0] == "Wong"
        assert sqlite.schema_version(book.reader) == len(edge_db.MIGRATIONS)
        assert "flag" in columns(book.reader, "visits")
    finally:
        book.close()


def newer(path: Path) -> int:
    conn = sqlite3.connect(path)
    version = int(conn.execute("PRAGMA user_version").fetchone()[0]) + 1
    conn.execute(f"PRAGMA user_version = {version}")
    conn.close()
    return version


def test_an_edge_database_newer_than_the_code_is_refused_with_one_line(tmp_path: Path) -> None:
    data = old_post(tmp_path / "post", len(edge_db.MIGRATIONS))
    version = newer(data / edge_db.DB_FILE)
    result = run_edge("verify", "--data", str(data))
    line = (
        f"Error: {data / edge_db.DB_FILE} was written by a newer Guardpost (schema version"
        f" {version}); upgrade guardpost to open it\n"
    )
    assert (result.returncode, result.stdout, result.stderr) == (2, "", line)


def test_a_hub_database_newer_than_the_code_is_refused_with_one_line(tmp_path: Path) -> None:
    data = tmp_path / "hub"
    init_store(data)
    version = newer(data / DB_FILE)
    message = (
        f"{data / DB_FILE} was written by a newer Guardpost (schema version {version});"
        " upgrade guardpost to open it"
    )
    with pytest.raises(errors.DamagedDatabase) as refused:
        Store(data)
    assert str(refused.value) == message
    result = run_hub("init", "--data", str(data))
    assert (result.returncode, result.stdout, result.stderr) == (2, "", f"Error: {message}\n")
    conn = sqlite3.connect(data / DB_FILE)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == version  # untouched
    conn.close()


def test_a_migration_that_fails_midway_leaves_the_version_before(tmp_path: Path) -> None:
    scripts = [
        "CREATE TABLE a (x TEXT); INSERT INTO a VALUES ('one; two');",
        "CREATE TABLE b (x TEXT);\nINSERT INTO b VALUES (1);\nINSERT INTO nowhere VALUES (1);",
    ]
    conn = sqlite.connect(tmp_path / "db", synchronous="FULL")
    with pytest.raises(sqlite3.OperationalError, match="nowhere"):
        sqlite.migrate(conn, scripts)
    assert sqlite.schema_version(conn) == 1
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"a"}  # nothing of migration 2
    assert conn.execute("SELECT x FROM a").fetchall()[0][0] == "one; two"
    assert not conn.in_transaction
    assert sqlite.migrate(conn, scripts[:1]) == 1  # the fixed code can go on from there
    conn.close()


def test_statements_end_where_sqlite_says() -> None:
    script = """
    -- a comment; with a semicolon
    CREATE TABLE t (x TEXT DEFAULT ';');
    CREATE TRIGGER t_ai AFTER INSERT ON t BEGIN
        UPDATE t SET x = x || ';' WHERE rowid = new.rowid;
        SELECT 1;
    END; INSERT INTO t VALUES ('a;b');
    -- the end
    """
    found = [s.strip() for s in sqlite.statements(script)]
    assert len(found) == 4, found
    assert found[1].startswith("CREATE TRIGGER") and found[1].endswith("END;")
    conn = sqlite3.connect(":memory:")
    sqlite.run_script(conn, script)
    assert conn.execute("SELECT x FROM t").fetchone()[0] == "a;b;"


def test_migration_files_are_numbered_without_gaps(tmp_path: Path) -> None:
    (tmp_path / "0001_first.sql").write_text("CREATE TABLE a (x);")
    (tmp_path / "README").write_text("not a migration")
    assert sqlite.load_migrations(tmp_path) == ["CREATE TABLE a (x);"]
    (tmp_path / "0003_third.sql").write_text("CREATE TABLE c (x);")
    with pytest.raises(RuntimeError, match="without gaps"):
        sqlite.load_migrations(tmp_path)
