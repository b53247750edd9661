"""`migrate-db`: a hub that started on its SQLite file moves to PostgreSQL.

Both schemas are brought to the same version first (the same numbered migrations); then every
table of the SQLite file is copied with COPY, in one PostgreSQL transaction, and each table's
count is compared before the commit. A target that already holds rows is refused, so a copy is
never merged into another hub's data; a copy that fails leaves the target as it was.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from service import errors, sqlite
from service.logs import mask_url

from .engine import DB_FILE, SYNCHRONOUS
from .postgres import PgEngine
from .schema import DB_URL_FILE, create_schema, remember_db

_BATCH = 5000


def copy_to_postgres(data: Path, to_url: str) -> dict[str, int]:
    """Copy the SQLite hub in `data` into the PostgreSQL database `to_url` and make `data` use
    it from now on; answers each table's row count (the same on both sides)."""
    if (data / DB_URL_FILE).is_file():
        raise errors.InvalidValue(f"{data} keeps its tables in PostgreSQL already")
    source = sqlite.connect(data / DB_FILE, synchronous=SYNCHRONOUS)
    target = PgEngine(to_url)
    try:
        create_schema(source)  # both at this program's version
        target.migrate()
        counts = _copy(source, target, to_url)
    finally:
        source.close()
        target.close()
    remember_db(data, to_url)
    return counts


def _copy(source: sqlite3.Connection, target: PgEngine, to_url: str) -> dict[str, int]:
    with target.pool.connection() as pg:  # one transaction: all of it, or nothing
        tables = {
            r[0]: [c[0] for c in pg.execute(_COLUMNS, (r[0],)).fetchall()]
            for r in pg.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                " AND tablename <> 'guardpost_schema'"
            ).fetchall()
        }
        full = [t for t in sorted(tables) if pg.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone()]
        if full:
            raise errors.Conflict(
                f"{mask_url(to_url)} is not empty ({', '.join(full)} hold rows); copy into"
                " an empty database"
            )
        counts: dict[str, int] = {}
        with sqlite.snapshot(source):  # one state of the SQLite file, however long the copy
            for table in _sqlite_tables(source):
                if table not in tables:
                    raise errors.InvalidValue(f"table {table} has no place in PostgreSQL")
                have = _sqlite_columns(source, table)
                if missing := have - set(tables[table]):
                    raise errors.InvalidValue(f"{table}.{min(missing)} has no place in PostgreSQL")
                columns = [c for c in tables[table] if c in have]
                names = ", ".join(columns)
                rows = source.execute(f"SELECT {names} FROM {table}")
                with pg.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as cp:
                    while batch := rows.fetchmany(_BATCH):
                        for row in batch:
                            cp.write_row(tuple(row))
                counts[table] = int(source.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
        for table, expected in counts.items():
            copied = pg.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
            if copied is None or copied[0] != expected:
                raise errors.Conflict(f"{table}: {expected} rows in SQLite, {copied} copied")
        for table in ("audit", "search_lines"):  # identity columns go on after the copied ids
            pg.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
            )
    return counts


_COLUMNS = (
    "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
    " AND table_name = %s ORDER BY ordinal_position"
)


def _sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    """The SQLite hub's own tables (not FTS5's, nor how far it got: PostgreSQL indexes by
    itself)."""
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        " AND name NOT LIKE 'search_fts%' AND name <> 'search_progress'"
        " AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name"
    )
    return [r[0] for r in rows]


def _sqlite_columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {r["name"] for r in conn.execute(f"PRAGMA table_info({table})")}
