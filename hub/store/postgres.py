"""The hub on PostgreSQL (14 or later): the store's SQL run through a psycopg connection pool.

Statements keep SQLite's `?` placeholders; `pg_sql` turns them into psycopg's `%s` once per
statement text (cached) and refuses, by name, the SQLite-only forms a module forgot to port.
Write transactions take one advisory lock, so they run one at a time across every hub process,
as SQLite's BEGIN IMMEDIATE does on its file; an ingest takes that lock shared and one lock per
post it stores for, so processes ingest different posts at once while each post's events are
still stored once and in order; reads run on any pooled connection.

Migrations are the same numbered files as SQLite's, each put in PostgreSQL's words by
`pg_script` (identity columns, DOUBLE PRECISION, ON CONFLICT, `->>`), or a `NNNN_name.pg.sql`
in its place where that is not enough (FTS5); the version is kept in `guardpost_schema`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from functools import lru_cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any, cast

import psycopg
import psycopg_pool

from service import errors, sqlite
from service.logs import mask_url

from .engine import TRIGRAM_CHARS, Conn, Engine

_MIGRATION_FILE = re.compile(r"^(\d{4})_[a-z0-9_]+(\.pg)?\.sql$")
WRITE_LOCK = 0x6775617264  # pg_advisory_xact_lock key of the hub's write transactions
DEVICE_LOCKS = 0x67707264  # the (class, hashtext) advisory locks of one post's ingest
# SQLite-only words a store module may not send to PostgreSQL (port them: engine.py's docstring)
_SQLITE_ONLY = re.compile(
    r"INSERT\s+OR\s+|json_extract\(|json_each\(|PRAGMA|search_fts|\binstr\(", re.IGNORECASE
)


class SqliteOnly(RuntimeError):
    """A statement in SQLite's dialect reached PostgreSQL."""


@lru_cache(maxsize=2048)
def pg_sql(sql: str) -> str:
    """`sql` with `?` as `%s` (outside quoted strings) and `%` as `%%`, for psycopg."""
    if found := _SQLITE_ONLY.search(sql):
        raise SqliteOnly(f"SQLite-only {found[0]!r} in: {sql[:200]}")
    out, quoted = [], False
    for char in sql:
        if char == "'":
            quoted = not quoted
        if char == "%":
            out.append("%%")
        elif char == "?" and not quoted:
            out.append("%s")
        else:
            out.append(char)
    return "".join(out)


class PgRow(tuple[Any, ...]):
    """A row by position or by column name, like `sqlite3.Row` (`dict(row)` works too)."""

    _index: dict[str, int]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


def _row_factory(cursor: Any) -> Any:
    index = {column.name: i for i, column in enumerate(cursor.description or ())}

    def make(values: Sequence[Any]) -> PgRow:
        row = PgRow(values)
        row._index = index
        return row

    return make


class Fetched:
    """A read's rows, fetched whole (its connection is back in the pool), as a cursor."""

    def __init__(self, rows: list[PgRow], rowcount: int) -> None:
        self._rows, self._at, self.rowcount = rows, 0, rowcount

    def fetchone(self) -> PgRow | None:
        if self._at >= len(self._rows):
            return None
        self._at += 1
        return self._rows[self._at - 1]

    def fetchmany(self, size: int = 1, /) -> list[PgRow]:
        self._at += size
        return self._rows[self._at - size : self._at]

    def fetchall(self) -> list[PgRow]:
        rows, self._at = self._rows[self._at :], len(self._rows)
        return rows

    def __iter__(self) -> Iterator[PgRow]:
        return iter(self.fetchall())


class PgConn:
    """A connection inside a transaction, speaking the store's `?` SQL."""

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Any:
        return self.raw.execute(pg_sql(sql), list(parameters))

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Any:
        with self.raw.cursor() as cursor:
            cursor.executemany(pg_sql(sql), [list(p) for p in parameters])


class PgReader:
    """Reads: each statement on a pooled connection, its rows fetched at once."""

    def __init__(self, pool: psycopg_pool.ConnectionPool[Any]) -> None:
        self.pool = pool

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Fetched:
        with self.pool.connection() as raw:
            cursor = raw.execute(pg_sql(sql), list(parameters))
            rows = cursor.fetchall() if cursor.description else []
            return Fetched(rows, cursor.rowcount)

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Any:
        raise RuntimeError("writes go through Engine.transaction()")


class PgEngine(Engine):
    """The hub's tables in one PostgreSQL database, shared by every hub process."""

    name = "postgresql"

    def __init__(self, url: str, *, max_connections: int = 12) -> None:
        self.url = url
        try:
            self.pool: psycopg_pool.ConnectionPool[Any] = psycopg_pool.ConnectionPool(
                url,
                min_size=1,
                max_size=max_connections,
                kwargs={"row_factory": _row_factory, "autocommit": False},
                open=True,
                timeout=30,
                name="guardpost-hub",
            )
            self.pool.wait(timeout=15)
        except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
            raise errors.NotInitialised(f"cannot reach the database at {mask_url(url)}") from exc
        self._reader = PgReader(self.pool)

    @property
    def read(self) -> Conn:
        return self._reader

    @contextmanager
    def transaction(self, devices: Iterable[tuple[str, str]] | None = None) -> Iterator[Conn]:
        with self.pool.connection() as raw:  # commits at the end, rolls back on an error
            if devices is None:
                raw.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            else:  # the global lock first, then each post's in one order: no deadlock
                raw.execute("SELECT pg_advisory_xact_lock_shared(%s)", (WRITE_LOCK,))
                for key in sorted({f"{site}/{device}" for site, device in devices}):
                    raw.execute(
                        "SELECT pg_advisory_xact_lock(%s::int, hashtext(%s))", (DEVICE_LOCKS, key)
                    )
            yield PgConn(raw)

    def free_devices(self, conn: Conn, devices: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        # try-locks never wait, so no order is needed against a deadlock
        keys = list({f"{site}/{device}" for site, device in devices})
        taken = conn.execute(
            "SELECT key FROM unnest(?::text[]) AS k(key)"
            " WHERE pg_try_advisory_xact_lock(?::int, hashtext(key))",
            (keys, DEVICE_LOCKS),
        ).fetchall()
        return {(site, device) for site, device in (row[0].split("/", 1) for row in taken)}

    def pipeline(self, conn: Conn) -> AbstractContextManager[object]:
        return cast(PgConn, conn).raw.pipeline()

    def close(self) -> None:
        self.pool.close()

    def version(self) -> int:
        with self.pool.connection() as raw:
            return _version(raw)

    def migrate(self) -> int:
        scripts = load_pg_migrations(files("hub.store") / "migrations")
        with self.pool.connection() as raw:
            _refuse_newer(raw, len(scripts), self.url)
            raw.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            raw.execute("CREATE TABLE IF NOT EXISTS guardpost_schema (version INTEGER NOT NULL)")
        for number in range(1, len(scripts) + 1):
            with self.pool.connection() as raw:
                raw.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
                if _version(raw) >= number:  # another process migrated meanwhile
                    continue
                raw.execute(scripts[number - 1].encode())  # several statements: no parameters
                raw.execute("DELETE FROM guardpost_schema")
                raw.execute("INSERT INTO guardpost_schema (version) VALUES (%s)", (number,))
        return len(scripts)

    # ---- the dialect ---------------------------------------------------------------------

    def json_text(self, column: str, key: str) -> str:
        return f"({column}::jsonb ->> '{key}')"

    def json_list(self, column: str, alias: str) -> str:
        return f"jsonb_array_elements_text({column}::jsonb) AS {alias}(value)"

    def search(self, text: str) -> tuple[str, list[Any]]:
        # the pg_trgm GIN index is on lower(summary) (migration 16): it serves three characters
        # or more, written against it. One or two have no trigram: they test the column itself,
        # which no trigram index covers, so the planner reads the lines by the column's
        # statistics (straight through, newest first, or one site's), never a bitmap of every
        # line. LIKE is about 3x faster than ILIKE: words without upper and lower case
        # (Chinese) are found the same by both
        like = "%" + sqlite.like_escaped(text) + "%"
        if len(text) >= TRIGRAM_CHARS:
            return " WHERE lower(l.summary) LIKE lower(?) ESCAPE '\\'", [like]
        operator = "LIKE" if text.lower() == text.upper() else "ILIKE"
        return f" WHERE l.summary {operator} ? ESCAPE '\\'", [like]

    def index_search(self, most: int) -> int:
        # lines wait in the GIN index's pending list (migration 12): move them into the index.
        # PostgreSQL locks the list itself: no hub write lock, which would hold up the other
        # hub processes' ingests while a long list is cleaned
        with self.pool.connection() as raw:
            raw.execute("SELECT gin_clean_pending_list('search_lines_trgm'::regclass)")
        return 0

    def search_lag(self) -> int:
        return 0

    def optimize_search(self, conn: Conn) -> None:
        pass  # the GIN index drops a row's trigrams when the row changes; VACUUM does the rest


def _version(raw: psycopg.Connection[Any]) -> int:
    exists = raw.execute("SELECT to_regclass('guardpost_schema')").fetchone()
    if exists is None or exists[0] is None:
        return 0
    row = raw.execute("SELECT MAX(version) FROM guardpost_schema").fetchone()
    return int(row[0] or 0) if row else 0


def _refuse_newer(raw: psycopg.Connection[Any], known: int, url: str) -> None:
    version = _version(raw)
    if version > known:
        raise errors.DamagedDatabase(
            f"{mask_url(url)} was written by a newer Guardpost (schema version {version});"
            " upgrade guardpost to open it"
        )


# SQLite's words in a migration, and PostgreSQL's for them
_DDL_WORDS = (
    (re.compile(r"\bINTEGER PRIMARY KEY\b"), "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
    (re.compile(r"\)\s*WITHOUT ROWID"), ")"),
    (re.compile(r"json_extract\((\w+), '\$\.(\w+)'\)"), r"(\1::jsonb ->> '\2')"),
    (re.compile(r"INSERT OR IGNORE (INTO[^;]*);"), r"INSERT \1 ON CONFLICT DO NOTHING;"),
)


def pg_script(script: str) -> str:
    """A SQLite migration in PostgreSQL's words (what `_DDL_WORDS` lists; nothing else)."""
    for pattern, words in _DDL_WORDS:
        script = pattern.sub(words, script)
    return script


def load_pg_migrations(folder: Traversable) -> list[str]:
    """PostgreSQL's scripts: each number's `.pg.sql` where there is one, else its `.sql` in
    PostgreSQL's words."""
    chosen: dict[int, tuple[bool, Traversable]] = {}
    for entry in folder.iterdir():
        if match := _MIGRATION_FILE.match(entry.name):
            number, is_pg = int(match[1]), bool(match[2])
            if is_pg or number not in chosen:
                chosen[number] = (is_pg, entry)
    if sorted(chosen) != list(range(1, len(chosen) + 1)):
        raise RuntimeError(f"migrations in {folder} are not numbered 0001, 0002, ... without gaps")
    return [
        text if chosen[n][0] else pg_script(text)
        for n in sorted(chosen)
        if (text := chosen[n][1].read_text(encoding="utf-8"))
    ]
