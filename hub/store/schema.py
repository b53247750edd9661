"""The hub's tables: the numbered migrations (`migrations/NNNN_*.sql`), the connection's
settings, and setting up a new hub's data directory.

A hub database made before numbered migrations (its tables there, user_version 0) is adopted:
migration 0001 runs over it (every statement `IF NOT EXISTS`), the columns added since its
tables were made (`ADDED_COLUMNS`) are added and filled in, and it is stamped version 1, in one
transaction; from there it migrates like any other.
"""

from __future__ import annotations

import secrets
import sqlite3
from importlib.resources import files
from pathlib import Path
from typing import Final

from service import sqlite

DB_FILE = "hub.db"
MIGRATIONS = sqlite.load_migrations(files("hub.store") / "migrations")

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
# the edge keeps every event until it is acked, and the hub acks only after COMMIT, so a hub
# crash can lose nothing the edge does not still hold; NORMAL is enough here
SYNCHRONOUS: Final = "NORMAL"


def connect(path: Path) -> sqlite3.Connection:
    return sqlite.connect(path, synchronous=SYNCHRONOUS)


def is_initialised(data: Path) -> bool:
    return (data / DB_FILE).is_file()


def init_store(data: Path) -> bool:
    """Create the hub database; True if it is new."""
    data.mkdir(parents=True, exist_ok=True)
    new = not is_initialised(data)
    conn = connect(data / DB_FILE)
    try:
        create_schema(conn)
    finally:
        conn.close()
    (data / DB_FILE).chmod(0o600)
    key_file = data / ID_KEY_FILE
    if not key_file.exists():  # the company's ID-number HMAC key, shared with its posts
        key_file.touch(mode=0o600)
        key_file.write_bytes(secrets.token_bytes(32))
    return new


def create_schema(conn: sqlite3.Connection) -> None:
    """Bring the schema up to date: adopt a database made before numbered migrations, then
    apply the migrations it lacks."""
    if sqlite.schema_version(conn) == 0 and _has_table(conn, "events"):
        with sqlite.transaction(conn):
            if sqlite.schema_version(conn) == 0:  # not adopted by another process meanwhile
                sqlite.run_script(conn, MIGRATIONS[0])
                _add_missing_columns(conn)
                sqlite.set_schema_version(conn, 1)
    sqlite.migrate(conn, MIGRATIONS)


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
