"""The hub's database engines behind one face, and where their SQL differs.

The store modules write one SQL text for both engines: `?` placeholders, rows read by column
name (or position), `INSERT ... ON CONFLICT DO NOTHING` and `ON CONFLICT (key) DO UPDATE SET
col = excluded.col` (both accept them), `RETURNING`, `CASE` for SQLite's two-argument MIN/MAX.
What the engines spell differently is asked of the engine: `json_text` (one member of a JSON
text column), `json_list` (the members of a JSON list column as rows), `search` (FTS5 trigram
on SQLite, `pg_trgm` on `lower(summary)` on PostgreSQL), `optimize_search`.

`SqliteEngine` is the hub as it always was: one writer connection behind a lock (BEGIN
IMMEDIATE) and a connection per reading thread. `PgEngine` (`hub.store.postgres`) runs the same
SQL on PostgreSQL through a psycopg connection pool.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from importlib.resources import files
from pathlib import Path
from typing import Any, Final, Protocol

from service import sqlite

log = logging.getLogger(__name__)

DB_FILE = "hub.db"
MIGRATIONS = sqlite.load_migrations(files("hub.store") / "migrations")
# the edge keeps every event until it is acked, and the hub acks only after COMMIT, so a hub
# crash can lose nothing the edge does not still hold; NORMAL is enough here
SYNCHRONOUS: Final = "NORMAL"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
WRITER_CACHE_KIB = 64 * 1024
# the writer copies its WAL into the file itself only when the checkpointer thread is this far
# behind (SQLite's own default is 1,000 pages, copied within whichever COMMIT crosses it)
BACKSTOP_CHECKPOINT_PAGES = 16_000
CHECKPOINT_EVERY_S = 0.2
# a search of this many characters or more uses the trigram index; shorter ones (a two-character
# Chinese word) have no trigram and read the lines (SQLite's FTS5, PostgreSQL's pg_trgm)
TRIGRAM_CHARS = 3


class Row(Protocol):
    """A row by column name or position (`sqlite3.Row`, `postgres.PgRow`)."""

    def __getitem__(self, key: int | str, /) -> Any: ...
    def keys(self) -> list[str]: ...


class Cursor(Protocol):
    """A statement's result: its rows (as `Row`s), or how many rows it changed."""

    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def fetchmany(self, size: int = ..., /) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Conn(Protocol):
    """What the store modules call on a connection or a transaction."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...
    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Any: ...


class Engine:
    """A hub database: reads, write transactions, migrations and the dialect's words."""

    name = "sqlite"

    @property
    def read(self) -> Conn:
        """A connection for reads (each statement sees what is committed)."""
        raise NotImplementedError

    def transaction(
        self, devices: Iterable[tuple[str, str]] | None = None
    ) -> AbstractContextManager[Conn]:
        """One write transaction at a time (across processes too): commit, or roll back.
        `devices`: an ingest of these posts' batches, which the engine may run beside
        ingests of other posts (never beside any other write)."""
        raise NotImplementedError

    def free_devices(self, conn: Conn, devices: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """In an ingest transaction begun with `devices=()`: those of `devices` whose posts'
        locks it now holds, taken without waiting; the others are being ingested by another
        hub process. SQLite has one writer, which holds them all."""
        return set(devices)

    def pipeline(self, conn: Conn) -> AbstractContextManager[object]:
        """Within a transaction: writes sent without waiting for each one's answer, and an
        error any of them met raised at the end of the block (PostgreSQL's pipeline mode: a
        backlog's projections cost one round trip to the server per batch, not one per
        event). Reading a statement's rows waits for them; its `rowcount` is not known. SQLite
        runs in this process: nothing to wait for."""
        return nullcontext()

    def close(self) -> None:
        raise NotImplementedError

    def checkpoint(self) -> bool:
        """Make purged bytes leave the write-ahead log; True when done."""
        return True

    def migrate(self) -> int:
        """Apply the migrations the database lacks; refuse one newer than this code."""
        raise NotImplementedError

    def version(self) -> int:
        raise NotImplementedError

    # ---- the dialect ---------------------------------------------------------------------

    def json_text(self, column: str, key: str) -> str:
        """SQL for the member `key` of the JSON object in `column`, as text."""
        return f"json_extract({column}, '$.{key}')"

    def json_list(self, column: str, alias: str) -> str:
        """A FROM item: one row per member of the JSON list in `column`, as `alias.value`."""
        return f"json_each({column}) {alias}"

    def search(self, text: str) -> tuple[str, list[Any]]:
        """The JOIN/WHERE that finds the `search_lines l` rows holding `text` (not empty).
        Three characters or more use the trigram index; one or two (a two-character
        Chinese word) scan the lines instead."""
        like = "%" + sqlite.like_escaped(text) + "%"
        if len(text) >= TRIGRAM_CHARS:  # the index, and the lines written since it was filled
            return (
                " WHERE l.id IN (SELECT rowid FROM search_fts WHERE search_fts MATCH ?"
                " UNION ALL SELECT id FROM search_lines"
                " WHERE id > (SELECT indexed_id FROM search_progress)"
                " AND summary LIKE ? ESCAPE '\\')",
                ['"' + text.replace('"', '""') + '"', like],
            )
        return " WHERE l.summary LIKE ? ESCAPE '\\'", [like]

    def index_search(self, most: int) -> int:
        """Add to the trigram index up to `most` of the lines ingest wrote since the last call
        (SQLite fills its index behind ingest, so acks never wait for it); how many."""
        with self.transaction() as conn:
            done = conn.execute("SELECT indexed_id FROM search_progress").fetchone()[0]
            upto = conn.execute(
                "SELECT MAX(id), COUNT(*) FROM"
                " (SELECT id FROM search_lines WHERE id > ? ORDER BY id LIMIT ?)",
                (done, most),
            ).fetchone()
            if not upto[1]:
                return 0
            conn.execute(
                "INSERT INTO search_fts (rowid, summary)"
                " SELECT id, summary FROM search_lines WHERE id > ? AND id <= ?",
                (done, upto[0]),
            )
            conn.execute("UPDATE search_progress SET indexed_id = ?", (upto[0],))
            return int(upto[1])

    def search_lag(self) -> int:
        """How many lines the index has yet to take (a search finds them all the same)."""
        row = self.read.execute(
            "SELECT COUNT(*) FROM search_lines WHERE id > (SELECT indexed_id FROM search_progress)"
        ).fetchone()
        return int(row[0])

    def optimize_search(self, conn: Conn) -> None:
        """After names were removed from lines: make the index forget them too."""
        conn.execute("INSERT INTO search_fts (search_fts) VALUES ('optimize')")


class SqliteEngine(Engine):
    """The hub's SQLite file: reads on per-thread connections; one writer connection."""

    def __init__(
        self, path: Path, prepare: Callable[[sqlite3.Connection], None] = lambda conn: None
    ) -> None:
        self.path = path
        self._prepare = prepare  # before the migrations: adopt a hub older than them
        self._readers = sqlite.ThreadConnections(path, synchronous=SYNCHRONOUS)
        self._write_lock = TurnLock()  # one writer at a time, in turn
        self._writer = sqlite.connect(path, synchronous=SYNCHRONOUS)
        # ingest inserts into indexes that span every post (visit ids, events by site and
        # time): keep their pages in memory rather than SQLite's 2 MB default
        self._writer.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")
        self._writer.execute(f"PRAGMA wal_autocheckpoint = {BACKSTOP_CHECKPOINT_PAGES}")
        self._checkpointer = _Checkpointer(self._readers.open())

    @property
    def read(self) -> Conn:
        return self._readers.get()

    @contextmanager
    def transaction(self, devices: Iterable[tuple[str, str]] | None = None) -> Iterator[Conn]:
        with self._write_lock, sqlite.transaction(self._writer) as conn:  # one file, one writer
            yield conn
        self._checkpointer.due()

    def close(self) -> None:
        self._checkpointer.stop()
        self._writer.close()
        self._readers.close()

    def checkpoint(self) -> bool:
        return sqlite.truncate_wal(self._writer, self._write_lock)

    def migrate(self) -> int:
        self._prepare(self._writer)
        return sqlite.migrate(self._writer, MIGRATIONS)

    def version(self) -> int:
        return sqlite.schema_version(self._writer)


class TurnLock:
    """The write lock, taken in the order it was asked for. A plain lock lets the ingest worker,
    which asks again the moment it lets go, take it group after group while the search index
    and a supervisor's write wait behind it for as long as a backlog lasts."""

    def __init__(self) -> None:
        self._turns = threading.Condition(threading.Lock())
        self._next = 0  # the ticket the next to ask gets
        self._serving = 0  # the ticket whose turn it is
        self._gave_up: set[int] = set()  # tickets of waits interrupted: their turns are skipped

    def __enter__(self) -> None:
        with self._turns:
            ticket = self._next
            self._next += 1
            try:
                while ticket != self._serving:
                    self._turns.wait()
            except BaseException:
                self._gave_up.add(ticket)
                self._pass_on()
                raise

    def __exit__(self, *exc: object) -> None:
        with self._turns:
            self._gave_up.add(self._serving)
            self._pass_on()

    def _pass_on(self) -> None:
        while self._serving in self._gave_up:
            self._gave_up.remove(self._serving)
            self._serving += 1
        self._turns.notify_all()


class _Checkpointer:
    """Copies the WAL into the database file on a thread and connection of its own: a PASSIVE
    checkpoint never holds up the writer, and its copying and fsync run outside Python's GIL,
    on another core, rather than within the COMMIT of an ingest transaction that acks wait
    for."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._due = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="checkpoint", daemon=True)
        self._thread.start()

    def due(self) -> None:
        """A transaction committed: its pages are to be copied."""
        self._due.set()

    def stop(self) -> None:
        self._stopping.set()
        self._due.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._due.wait()
            self._due.clear()
            if self._stopping.is_set():
                return
            try:
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            except sqlite3.Error as exc:  # a full disk: the writer's own checkpoint is the backstop
                log.warning("WAL checkpoint failed", extra={"error": str(exc)})
            self._stopping.wait(CHECKPOINT_EVERY_S)


def is_postgres(url: str | None) -> bool:
    return bool(url) and str(url).startswith(POSTGRES_SCHEMES)


# the database itself failed (not the batch): full disk, I/O, locked, damaged, closed
_SQLITE_FAILURES = frozenset({5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 26})  # SQLITE_BUSY ... NOTADB


def is_database_failure(exc: BaseException) -> bool:
    """True for an error of the database (retry later, keep the group unacked), False for one
    a batch's content caused (reject that batch alone)."""
    if isinstance(exc, sqlite3.ProgrammingError | sqlite3.InterfaceError):
        return True  # a closed connection: nothing a batch did
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return code is None or code & 0xFF in _SQLITE_FAILURES
    return isinstance(exc, MemoryError) or is_postgres_error(exc, failure=True)


def is_postgres_error(exc: BaseException, *, failure: bool = False) -> bool:
    """True for an error of psycopg; with `failure`, only for one of PostgreSQL itself, as
    `is_database_failure` means it: connection lost, server shutting down, out of disk or
    memory, a deadlock or serialization failure (try again), no pooled connection in time (the
    pool's timeout is an OperationalError). psycopg is loaded only for a PostgreSQL hub
    (`schema.connect`), saving every other hub process its import; unloaded, it raised
    nothing."""
    psycopg = sys.modules.get("psycopg")
    if psycopg is None:
        return False
    if not failure:
        return isinstance(exc, psycopg.Error)
    errors = psycopg.errors
    return isinstance(
        exc,
        psycopg.OperationalError
        | psycopg.InterfaceError
        | errors.InsufficientResources
        | errors.TransactionRollback
        | errors.InternalError_,
    )
