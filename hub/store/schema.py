"""The hub's tables: the numbered migrations (`migrations/NNNN_*.sql`, run by the engine),
and setting up a new hub's data directory (its secrets, and its database: the SQLite file in it,
or the PostgreSQL database `--db` names, which the directory remembers in `DB_URL_FILE`, so
that every later command finds it without `--db`).

A hub database made before numbered migrations (its tables there, user_version 0) is adopted:
migration 0001 runs over it (every statement `IF NOT EXISTS`), the columns added since its
tables were made (`ADDED_COLUMNS`) are added and filled in, and it is stamped version 1, in one
transaction; from there it migrates like any other.
"""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path

from service import errors, sqlite

from .engine import DB_FILE, MIGRATIONS, SYNCHRONOUS, Engine, SqliteEngine, is_postgres

DB_URL_FILE = "hub-db.url"  # the PostgreSQL URL `init --db` was given (0600, like the secrets)

# columns added after a table was first created, before numbered migrations: (table, column,
# type, and the statement that fills it in for the rows already there, one pass over the events,
# not one per row); what an adopted database lacks of them is added
_FIRST_STATUS = (
    "UPDATE incidents SET {status}_at = first.at FROM (SELECT record_id, MIN(at) AS at"
    " FROM events WHERE type = 'incident.status' AND json_extract(data, '$.status') ="
    " '{status}' GROUP BY record_id) AS first WHERE incidents.id = first.record_id"
)
ADDED_COLUMNS = [
    ("visits", "flag", "TEXT", None),
    ("incidents", "acknowledged_at", "TEXT", _FIRST_STATUS.format(status="acknowledged")),
    ("incidents", "resolved_at", "TEXT", _FIRST_STATUS.format(status="resolved")),
]
# the statuses whose first time the hub keeps on the incident (the reports' response times)
MILESTONES = ("acknowledged", "resolved")
ID_KEY_FILE = "id-hmac.key"


def connect(path: Path) -> sqlite3.Connection:
    return sqlite.connect(path, synchronous=SYNCHRONOUS)


def is_initialised(data: Path) -> bool:
    return (data / DB_FILE).is_file() or (data / DB_URL_FILE).is_file()


def resolve_db(data: Path, db_url: str | None) -> str | None:
    """The database of the hub in `data`: `db_url` if given (refused for a hub whose tables
    are in its SQLite file), else the PostgreSQL URL `init` remembered, else None (SQLite)."""
    remembered = data / DB_URL_FILE
    if db_url:
        if (data / DB_FILE).is_file() and not remembered.is_file():
            raise errors.InvalidValue(
                f"{data} keeps its tables in {data / DB_FILE}; copy them with"
                " guardpost-hub migrate-db before serving it from PostgreSQL",
                loc=("db",),
            )
        return db_url
    if remembered.is_file():
        return remembered.read_text(encoding="utf-8").strip()
    return None


def remember_db(data: Path, db_url: str) -> None:
    """From now on the hub in `data` keeps its tables in PostgreSQL at `db_url`."""
    path = data / DB_URL_FILE
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(db_url + "\n", encoding="utf-8")


def open_engine(data: Path, db_url: str | None) -> Engine:
    """The engine `--db` names: absent, the SQLite file in `data`."""
    if not db_url:
        return SqliteEngine(data / DB_FILE, prepare=adopt_unnumbered)
    if not is_postgres(db_url):
        raise errors.InvalidValue("--db must be a postgresql://USER:PASS@HOST:PORT/DB URL")
    from .postgres import PgEngine  # psycopg, loaded only for a PostgreSQL hub

    return PgEngine(db_url)


def init_store(data: Path, db_url: str | None = None) -> bool:
    """Create the hub database (and its directory's secrets); True if it is new."""
    data.mkdir(parents=True, exist_ok=True)
    new = not is_initialised(data)
    db_url = resolve_db(data, db_url)
    engine = open_engine(data, db_url)
    try:
        if is_postgres(db_url):
            new = engine.version() == 0
        engine.migrate()
    finally:
        engine.close()
    if db_url and is_postgres(db_url):
        remember_db(data, db_url)
    else:
        (data / DB_FILE).chmod(0o600)
    key_file = data / ID_KEY_FILE
    if not key_file.exists():  # the company's ID-number HMAC key, shared with its posts
        key_file.touch(mode=0o600)
        key_file.write_bytes(secrets.token_bytes(32))
    return new


def create_schema(conn: sqlite3.Connection) -> None:
    """Bring a SQLite schema up to date: adopt a database made before numbered migrations,
    then apply the migrations it lacks."""
    adopt_unnumbered(conn)
    sqlite.migrate(conn, MIGRATIONS)


def adopt_unnumbered(conn: sqlite3.Connection) -> None:
    """A SQLite hub made before numbered migrations is stamped version 1 in place."""
    if sqlite.schema_version(conn) == 0 and _has_table(conn, "events"):
        with sqlite.transaction(conn):
            if sqlite.schema_version(conn) == 0:  # not adopted by another process meanwhile
                sqlite.run_script(conn, MIGRATIONS[0])
                _add_missing_columns(conn)
                sqlite.set_schema_version(conn, 1)


def _has_table(conn: sqlite3.Connection, table: str) -> bool:
    sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    return conn.execute(sql, (table,)).fetchone() is not None


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    for table, column, kind, fill in ADDED_COLUMNS:
        have = {r["name"] for r in conn.execute(f"PRAGMA table_info({table})")}
        if column not in have:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            if fill:
                conn.execute(fill)
