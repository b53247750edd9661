"""The edge's data directory and database file: connections and their pragmas, the schema's
numbered migrations (`migrations/NNNN_*.sql`), set-up of a new post, the checks that refuse an
empty, foreign, newer or damaged file, and `verify` of the hash chain."""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
from importlib.resources import files
from pathlib import Path
from typing import Any

from schemas.canonical import GENESIS_HASH, chain_break
from service import errors, sqlite

log = logging.getLogger(__name__)

DB_FILE = "guardpost.db"
ID_KEY_FILE = "id-hmac.key"
SQLITE_HEADER = b"SQLite format 3\x00"
APPLICATION_ID = 0x47504544  # "GPED" in the file's header: a Guardpost edge database
# numbered as they always were: a post's database at version N upgrades from N + 1
MIGRATIONS = sqlite.load_migrations(files("edge.logbook") / "migrations")


def connect(path: Path) -> sqlite3.Connection:
    """A connection with the pragmas every edge connection needs."""
    # a Pi loses power without warning; a 2xx must survive it
    return sqlite.connect(path, synchronous="FULL")


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema up to date and mark the file as a Guardpost edge database."""
    sqlite.migrate(conn, MIGRATIONS)
    if conn.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
        conn.execute(f"PRAGMA application_id={APPLICATION_ID}")


def check_database(path: Path, check: str = "quick_check") -> None:
    """Refuse a database file that is empty, not SQLite, not a Guardpost edge database, or
    damaged (SQLite's `check`: `quick_check`, or the slower and fuller `integrity_check`).
    Reads only: the file is opened read-only and nothing is migrated before it passes."""
    open_checked(path, check).close()


def open_checked(path: Path, check: str = "quick_check") -> sqlite3.Connection:
    """A read-only connection to a database that passed `check_database`."""
    try:
        with path.open("rb") as file:
            header = file.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise errors.DamagedDatabase(f"{path} cannot be read ({exc.strerror})") from None
    if not header:
        raise errors.DamagedDatabase(f"{path} is empty: not a Guardpost edge database")
    if header != SQLITE_HEADER:
        raise errors.DamagedDatabase(f"{path} is not an SQLite database")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    try:
        conn.execute("PRAGMA busy_timeout=30000")
        _check_schema(conn, path)
        problems = [str(r[0]) for r in conn.execute(f"PRAGMA {check}").fetchmany(10)]
        if problems != ["ok"]:
            log.debug("database check failed", extra={"check": check, "problems": problems})
            raise errors.DamagedDatabase(_damaged(path, check))
    except sqlite3.DatabaseError as exc:
        conn.close()
        log.debug("database check failed", extra={"check": check, "error": str(exc)})
        raise errors.DamagedDatabase(_damaged(path, check)) from None
    except BaseException:
        conn.close()
        raise
    return conn


def _damaged(path: Path, check: str) -> str:
    return f"{path} is damaged (SQLite's {check} failed); restore it from a backup"


def _check_schema(conn: sqlite3.Connection, path: Path) -> None:
    """A Guardpost edge database: our application_id (or none, before it was set), a schema
    version this code knows, and the post's site and device in `meta`."""
    application_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if application_id not in (0, APPLICATION_ID):
        raise errors.DamagedDatabase(
            f"{path} is not a Guardpost edge database (application_id {application_id:#x})"
        )
    sqlite.refuse_newer(conn, MIGRATIONS, path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    meta: dict[str, str] = {}
    if version >= 1 and {"meta", "events"} <= tables:
        meta = {
            r[0]: r[1]
            for r in conn.execute("SELECT key, value FROM meta WHERE key IN ('site', 'device')")
        }
    if set(meta) != {"site", "device"}:
        raise errors.DamagedDatabase(
            f"{path} is not a Guardpost edge database (no site and device in it)"
        )


def is_initialised(data: Path) -> bool:
    return (data / DB_FILE).is_file() and (data / ID_KEY_FILE).is_file()


def init_data_dir(data: Path, site: str, device: str, id_key: bytes | None = None) -> bool:
    """Create the database and secrets; True if new, False if already set up for this post.
    `id_key`: the company's ID-number HMAC key (the hub's), replacing the post's own."""
    data.mkdir(parents=True, exist_ok=True)
    if (data / DB_FILE).exists():
        check_database(data / DB_FILE)  # never migrate into an empty, foreign or damaged file
    key_file = data / ID_KEY_FILE
    if id_key is not None and is_initialised(data):
        _check_post(data, site, device)
        key_file.write_bytes(id_key)  # earlier visits no longer match as repeat visitors
        return False
    if id_key is not None:
        key_file.touch(mode=0o600)
        key_file.write_bytes(id_key)
    if is_initialised(data):
        _check_post(data, site, device)
        return False
    if not key_file.exists():
        key_file.touch(mode=0o600)
        key_file.write_bytes(secrets.token_bytes(32))
    key_file.chmod(0o600)
    conn = connect(data / DB_FILE)
    try:
        migrate(conn)
        conn.execute(
            "INSERT OR REPLACE INTO meta VALUES ('site', ?), ('device', ?)", (site, device)
        )
    finally:
        conn.close()
    (data / DB_FILE).chmod(0o600)
    return True


def _check_post(data: Path, site: str, device: str) -> None:
    """Refuse a data directory that belongs to another site or device."""
    conn = connect(data / DB_FILE)
    try:
        migrate(conn)
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    finally:
        conn.close()
    if (meta.get("site"), meta.get("device")) != (site, device):
        raise errors.AlreadyInitialised(
            f"{data} is already initialised for site {meta.get('site')} device {meta.get('device')}"
        )


def verify_logbook(data: Path) -> tuple[int, int | None]:
    """`verify`: SQLite's integrity_check, then the hash chain, on a read-only connection (it
    never writes to the file it checks): (events checked, first bad seq or None)."""
    conn = open_checked(data / DB_FILE, "integrity_check")
    try:
        return verify_chain(conn)
    finally:
        conn.close()


def verify_chain(conn: sqlite3.Connection) -> tuple[int, int | None]:
    """Check the whole chain: (events checked, first bad seq or None)."""
    prev_hash, prev_seq, count = GENESIS_HASH, 0, 0
    rows = conn.execute("SELECT * FROM events ORDER BY seq")
    while batch := rows.fetchmany(2000):
        events: list[dict[str, Any]] = []
        for row in batch:
            try:
                events.append(event_out(row))
            except (ValueError, TypeError):  # a byte edited into unreadable JSON
                events.append({"seq": row["seq"], "hash": None})
        bad = chain_break(events, prev_hash, prev_seq)
        if bad is not None:
            return count + sum(1 for e in events if e["seq"] < bad), bad
        count += len(events)
        prev_hash, prev_seq = events[-1]["hash"], events[-1]["seq"]
    return count, None


# ---- projections ------------------------------------------------------------------------------

# edge-only columns: the seq that made a visit or entry (entries are listed in seq order)
_WITH_SEQ = frozenset({"visits", "incident_entries"})


def event_out(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "seq": row["seq"],
        "id": row["id"],
        "type": row["type"],
        "at": row["at"],
        "record_id": row["record_id"],
        "data": json.loads(row["data"]),
        "pii": json.loads(row["pii"]) if row["pii"] is not None else None,
        "pii_digest": row["pii_digest"],
        "prev_hash": row["prev_hash"],
        "hash": row["hash"],
    }
