"""SQLite for the edge and the hub: a connection with the pragmas both need, a write
transaction, a connection per reading thread, the plumbing of a row (insert, update, optional
filters), and the one migration runner.

Migrations are numbered `.sql` files shipped as package data (`0001_logbook.sql`, ...): the
runner applies the missing ones in order, each in its own transaction together with its number
(`PRAGMA user_version` counts the migrations applied), so a migration that fails leaves the
database as it was. A database newer than the code is refused before anything is written.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Literal, Protocol

from service import errors

_MIGRATION_FILE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def connect(path: Path, *, synchronous: Literal["FULL", "NORMAL"]) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit: `transaction`), WAL,
    rows by column name. `synchronous`: FULL where a 2xx must survive a power cut (the edge),
    NORMAL where the sender keeps everything until it is acked (the hub)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA secure_delete=ON")  # a purge must really remove the bytes
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE (the write lock at once: no deadlock between two readers that both
    decide to write) ... COMMIT, or ROLLBACK on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        # a full disk or an I/O error may have rolled back already: then ROLLBACK would raise
        # "no transaction is active" over the error that matters
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


@contextmanager
def snapshot(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Reads on `conn` (autocommit) that see one committed state of the database, however many
    statements they take: a read transaction, never a write."""
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        conn.execute("COMMIT")


def truncate_wal(
    conn: sqlite3.Connection,
    hold: AbstractContextManager[Any] | None = None,
    *,
    tries: int = 100,
    pause_s: float = 0.05,
) -> bool:
    """Copy the WAL into the database and truncate it, so removed bytes leave the WAL too;
    tried again (about 5 s in all) while a reader or another checkpoint holds it, when SQLite
    answers busy. `hold`: taken around each try (the hub's write lock). True when done."""
    for _ in range(tries):
        with hold or nullcontext():
            busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if not busy:
            return True
        time.sleep(pause_s)
    return False


class ThreadConnections:
    """A connection per thread that reads (WAL: readers never wait for the writer), and every
    connection handed out closed together by `close`."""

    def __init__(self, path: Path, *, synchronous: Literal["FULL", "NORMAL"]) -> None:
        self.path = path
        self.synchronous: Literal["FULL", "NORMAL"] = synchronous
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[sqlite3.Connection] = []

    def get(self) -> sqlite3.Connection:
        """This thread's connection."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self.open()
            self._local.conn = conn
        return conn

    def open(self) -> sqlite3.Connection:
        """A connection of its own (not this thread's), closed with the others."""
        conn = connect(self.path, synchronous=self.synchronous)
        with self._lock:
            self._open.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._open:
                conn.close()
            self._open.clear()


class Executes(Protocol):
    """A connection, or another engine's connection that speaks the same `?` SQL (the hub's
    PostgreSQL: `hub.store.postgres`)."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Any: ...


def insert_row(conn: Executes, table: str, row: dict[str, Any], *, if_new: bool = False) -> None:
    """INSERT one row given as {column: value} (table and column names are ours, never input);
    `if_new`: nothing happens if a row with its key is there (SQL that PostgreSQL runs too)."""
    conn.execute(_insert_sql(table, tuple(row), if_new), tuple(row.values()))


@functools.lru_cache(maxsize=256)
def _insert_sql(table: str, columns: tuple[str, ...], if_new: bool) -> str:
    """The INSERT of `insert_row`, made once per table and set of columns."""
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        + (" ON CONFLICT DO NOTHING" if if_new else "")
    )


class InsertRuns:
    """A connection whose `insert`ed rows wait, to go in one `executemany` per run of rows for
    the same table and columns (a backlog's projections: one statement, not one per event).
    Any other statement sends the waiting rows first, so writes keep their order; call `flush`
    at the end."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self._sql = ""
        self._rows: list[tuple[Any, ...]] = []

    def insert(self, table: str, row: dict[str, Any], *, if_new: bool = False) -> None:
        sql = _insert_sql(table, tuple(row), if_new)
        if sql != self._sql:
            self.flush()
            self._sql = sql
        self._rows.append(tuple(row.values()))

    def flush(self) -> None:
        if self._rows:
            rows, self._rows = self._rows, []
            self.conn.executemany(self._sql, rows)

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Any:
        self.flush()
        return self.conn.execute(sql, parameters)

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Any:
        self.flush()
        return self.conn.executemany(sql, parameters)


def update_row(conn: Executes, table: str, values: dict[str, Any], where: dict[str, Any]) -> None:
    """UPDATE `table` SET `values` WHERE every column of `where` equals its value."""
    conn.execute(
        f"UPDATE {table} SET {', '.join(f'{c} = ?' for c in values)}"
        f" WHERE {' AND '.join(f'{c} = ?' for c in where)}",
        (*values.values(), *where.values()),
    )


def like_escaped(text: str) -> str:
    """`text` for a `LIKE ? ESCAPE '\\'` pattern: its `%`, `_` and `\\` match themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def rows_with_ids(
    conn: Executes,
    select: str,
    ids: Iterable[str],
    also: str = "",
    args: Sequence[Any] = (),
) -> list[Any]:
    """The rows of `select` (a SELECT without WHERE) whose `id` is one of `ids`, and that meet
    `also` (" AND site = ?") with its `args`; 500 ids a query (SQLite's limit on parameters)."""
    wanted, rows = list(ids), list[Any]()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ",".join("?" * len(chunk))
        sql = f"{select} WHERE id IN ({marks}){also}"
        rows += conn.execute(sql, (*chunk, *args)).fetchall()
    return rows


def and_where(sql: str, args: list[Any], conditions: dict[str, Any]) -> str:
    """`sql` with ` AND <condition>` for each condition whose value is given (not None, not
    empty), the value appended to `args`: `{"status = ?": status, "at >= ?": since}`."""
    for condition, value in conditions.items():
        if value is not None and value != "":
            sql += f" AND {condition}"
            args.append(value)
    return sql


# ---- migrations -------------------------------------------------------------------------------


def load_migrations(folder: Traversable) -> list[str]:
    """The scripts of a folder of `NNNN_name.sql` files, in order: numbered from 0001, no gaps
    (a gap or a stray file is a packaging mistake, refused at import rather than half-run)."""
    numbered = sorted(
        (int(match[1]), entry)
        for entry in folder.iterdir()
        if (match := _MIGRATION_FILE.match(entry.name))
    )
    if [number for number, _ in numbered] != list(range(1, len(numbered) + 1)):
        raise RuntimeError(f"migrations in {folder} are not numbered 0001, 0002, ... without gaps")
    return [entry.read_text(encoding="utf-8") for _, entry in numbered]


def statements(script: str) -> Iterator[str]:
    """The statements of an SQL script, each ending where SQLite says it is complete
    (`sqlite3.complete_statement`), so a `;` in a string, a comment or a trigger's body does
    not end one. What is left after the last (comments, or a statement cut short) comes last,
    for SQLite to pass over or refuse."""
    pending = ""
    for piece in re.split(r"(?<=;)", script):
        pending += piece
        if sqlite3.complete_statement(pending):
            yield pending
            pending = ""
    if pending.strip():
        yield pending


def run_script(conn: sqlite3.Connection, script: str) -> None:
    """Run a script's statements one by one inside the caller's transaction (`executescript`
    would commit it first)."""
    for statement in statements(script):
        conn.execute(statement)


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def set_schema_version(conn: sqlite3.Connection, version: int) -> None:
    conn.execute(f"PRAGMA user_version = {int(version)}")


def refuse_newer(
    conn: sqlite3.Connection, scripts: Sequence[str], path: Path | None = None
) -> None:
    """Refuse a database written by a newer Guardpost (more migrations than this code knows),
    named in the error as `path` (or as SQLite has it)."""
    version = schema_version(conn)
    if version > len(scripts):
        path = path or Path(conn.execute("PRAGMA database_list").fetchone()[2])
        raise errors.DamagedDatabase(
            f"{path} was written by a newer Guardpost (schema "
            f"version {version}); upgrade guardpost to open it"
        )


def migrate(conn: sqlite3.Connection, scripts: Sequence[str]) -> int:
    """Apply the migrations the database lacks, in order, each in its own transaction with its
    number; answer the version reached. A failing migration leaves the previous version."""
    refuse_newer(conn, scripts)
    for number in range(schema_version(conn) + 1, len(scripts) + 1):
        with transaction(conn):
            if schema_version(conn) >= number:  # another process migrated meanwhile
                continue
            run_script(conn, scripts[number - 1])
            set_schema_version(conn, number)
    return len(scripts)
