"""The logbook's writer: the one thread that writes, and `append`, the only place that appends
events (gapless per-device `seq`, SHA-256 hash chain, CONTRACT section 4) with their projections.

Writes go through one writer thread that commits concurrent requests together (group commit):
each piece of work runs in its own savepoint, so one failing request does not sink its group, and
each caller waits for the commit that holds its event. An answer of 2xx means the event is on
disk, and there is one fsync per group instead of per request.

How the record families (`book.visits`, `book.incidents`, ...) are called:

- `await book.visits.register(body, by=guard)`: a command is a coroutine; it runs on the writer
  and returns the changed record once it is committed (the event loop serves others meanwhile).
- `book.watchlist.apply_now(message)`: the same for a thread or the CLI, blocking until the
  commit. A command has this `_now` form only where a thread or the CLI calls it.
- `book.visits.get(visit_id)`, `book.visits.list(...)`: reads, plain methods on the calling
  thread's own read connection.
- `book.visits.register_work(body, by)`: the command's work itself, a function of the writer's
  connection, for a caller that runs several in one transaction or submits it (tests).

Events are built from the `schemas.models` event models: `append` takes the model of the event's
type (`EVENT_DATA`) and writes its JSON, so what is stored is the published schema's shape.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from schemas.canonical import (
    GENESIS_HASH,
    canonical_text,
    canonical_text_floatless,
    event_hash,
    sha256_hex,
)
from schemas.ids import format_time, new_id, utc_now
from schemas.messages import FLOATLESS
from schemas.models import EVENT_DATA
from service import errors, sqlite
from service.workers import take_group

from .database import connect
from .jobs import Job, settle
from .projection import apply_projection

log = logging.getLogger(__name__)
T = TypeVar("T")
Work = Callable[[sqlite3.Connection], T]  # one change, run by the writer inside its transaction

CHECKPOINT_EVERY_S = 1.0  # copy the WAL into the database this often (PASSIVE: never blocks)
MAX_GROUP = 256  # events per group commit; bounds how long one transaction holds the lock


@dataclass
class Head:
    seq: int
    hash: str


def is_disk_full(exc: sqlite3.Error) -> bool:
    """SQLITE_FULL: the disk (or the file system holding the database or its WAL) is full."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_FULL or (code is None and "disk is full" in str(exc))


class Writer:
    """The writer thread of one database file (and the WAL checkpointer beside it)."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = conn
        self._head = self._load_head()
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._after_commit: list[Callable[[list[dict[str, Any]]], None]] = []
        self._committed: list[dict[str, Any]] = []
        self._disk_full = False
        # called before each request's write (`run`); raises to refuse it (the disk's reserve)
        self.check_room: Callable[[], None] = lambda: None
        self._closed = False
        self._submit_lock = threading.Lock()
        self._thread = threading.Thread(target=self._write_loop, name="logbook-writer", daemon=True)
        self._thread.start()
        # checkpoints run beside the writer, not inside a commit, so a guard never waits for one
        self._conn.execute("PRAGMA wal_autocheckpoint=0")
        # each job's savepoint journal in memory, not in a temporary file (an open, an unlink and
        # a write per page touched, for every group): it only serves ROLLBACK TO within the
        # transaction, never a recovery, so the commit's durability is the same
        self._conn.execute("PRAGMA temp_store=MEMORY")
        self._stopping = threading.Event()
        self._checkpointer = threading.Thread(
            target=self._checkpoint_loop, name="checkpoint", daemon=True
        )
        self._checkpointer.start()

    def close(self) -> None:
        self._stopping.set()
        self._checkpointer.join(timeout=10)
        with self._submit_lock:
            self._closed = True
            self._queue.put(None)
        self._thread.join(timeout=10)
        while True:  # whatever came after the stop is refused, never left waiting
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                settle([(job, None, errors.StorageFailed("the logbook is closed"))])
        self._conn.close()

    def on_commit(self, callback: Callable[[list[dict[str, Any]]], None]) -> None:
        """Call `callback(events)` after each commit that appended events (sync, live pages)."""
        self._after_commit.append(callback)

    def _load_head(self) -> Head:
        row = self._conn.execute(
            "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return Head(row["seq"], row["hash"]) if row else Head(0, GENESIS_HASH)

    def submit(self, work: Work[T]) -> Future[T]:
        """Queue `work(conn)` for the writer; the future resolves once it is on disk."""
        future: Future[T] = Future()
        if not self._put(Job(work, future=future)):
            future.set_exception(errors.StorageFailed("the logbook is closed"))
        return future

    def _put(self, job: Job) -> bool:
        """Queue a job; False if the writer has stopped (nothing would ever answer)."""
        with self._submit_lock:
            if self._closed or not self._thread.is_alive():
                return False
            self._queue.put(job)
        return True

    def write(self, work: Work[T]) -> T:
        """Run `work(conn)` in the writer's transaction; return once it is committed to disk."""
        return self.submit(work).result()

    async def run(self, work: Work[T]) -> T:
        """`write` for async callers (requests): the event loop serves others while the commit
        happens. Refused (507) while the disk's reserve is reached; `write` is not."""
        self.check_room()
        waiter: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        if not self._put(Job(work, waiter=waiter)):
            raise errors.StorageFailed("the logbook is closed")
        return await waiter

    @property
    def is_running(self) -> bool:
        return not self._closed and self._thread.is_alive()

    @property
    def disk_full(self) -> bool:
        """True while the last write failed for want of disk space (until one succeeds)."""
        return self._disk_full

    def _write_loop(self) -> None:
        # nothing may escape this loop: a dead writer would leave every later caller waiting
        is_last = False
        while not is_last:
            group, is_last = take_group(self._queue, MAX_GROUP)  # the last: finish it, then stop
            if not group:
                continue
            try:
                self._commit_group(group)
            except BaseException as exc:
                log.exception("group commit failed unexpectedly", extra={"jobs": len(group)})
                self._abandon(group, exc)

    def _abandon(self, group: list[Job], error: BaseException) -> None:
        """Fail every caller of a group that did not commit, and reload the head from disk so
        the next group continues from what is really stored (nothing half-written, no gap)."""
        self._committed = []
        conn = self._conn
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # SQLite may have rolled back already (a full disk does): nothing to undo
        try:
            self._head = self._load_head()
        except sqlite3.Error:
            pass  # the next group reloads the head under its write lock anyway
        error = self._storage_error(error)
        settle((job, None, error) for job in group)

    def _storage_error(self, exc: BaseException) -> BaseException:
        """What a caller gets for a write that failed: a full disk is DiskFull (507), another
        database failure StorageFailed (503); anything else as it was raised."""
        if not isinstance(exc, sqlite3.Error) or isinstance(exc, sqlite3.IntegrityError):
            return exc
        if is_disk_full(exc):
            if not self._disk_full:
                log.error("the disk is full: writes fail until space is freed")
            self._disk_full = True
            return errors.DiskFull(
                "the post's disk is full; nothing was saved. Free some space, then try again"
            )
        return errors.StorageFailed(
            f"the database could not save this ({exc.__class__.__name__}); nothing was saved"
        )

    def _commit_group(self, group: list[Job]) -> None:
        conn = self._conn
        outcomes: list[tuple[Job, Any, BaseException | None]] = []
        self._committed = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            # another process (the CLI's purge) may have appended since: read the head under
            # the write lock, so the next seq is always the stored last one + 1
            self._head = self._load_head()
        except sqlite3.Error as exc:
            self._abandon(group, exc)
            return
        for job in group:
            head, appended = Head(self._head.seq, self._head.hash), len(self._committed)
            conn.execute("SAVEPOINT job")
            try:
                result = job.work(conn)
                conn.execute("RELEASE job")
                outcomes.append((job, result, None))
            except BaseException as exc:  # one bad request must not sink its group
                try:
                    if not conn.in_transaction:
                        raise sqlite3.OperationalError("the transaction was rolled back")
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                except sqlite3.Error:
                    # a full disk or an I/O error may roll the whole transaction back: the
                    # group is lost, the jobs before this one included
                    self._abandon(group, exc)
                    return
                self._head = head
                del self._committed[appended:]
                outcomes.append((job, None, self._storage_error(exc)))
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            log.error(
                "group commit failed",
                extra={
                    "events": len(self._committed),
                    "error": exc.__class__.__name__,
                    "disk_full": is_disk_full(exc),
                },
            )
            self._abandon(group, exc)
            return
        self._disk_full = False
        committed = self._committed
        self._committed = []
        settle(outcomes)
        if committed:
            for callback in self._after_commit:
                try:
                    callback(committed)
                except Exception:
                    log.exception("after-commit callback failed")

    def append(
        self,
        conn: sqlite3.Connection,
        event_type: str,
        record_id: str,
        data: BaseModel,
        pii: BaseModel | None = None,
        at: datetime | None = None,
        local: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Append one event (inside a work): next seq, chained hash, then its projection.

        `data` is the event type's model from `EVENT_DATA`; its fields set by the caller are
        written (an optional field left out stays out of the JSON, as the schema allows).
        `local`: the post's own columns of the row the event inserts (a visit's `id_hmac`),
        written in the same INSERT; they are not part of the event."""
        if type(data) is not EVENT_DATA.get(event_type):
            raise TypeError(
                f"{event_type} data must be {EVENT_DATA[event_type].__name__}, "
                f"not {type(data).__name__}"
            )
        data_json = data.model_dump(mode="json", exclude_unset=True)
        pii_json = None if pii is None else pii.model_dump(mode="json")
        # the same text either way; orjson's is faster where no float can be (as the hub's)
        data_text = (canonical_text_floatless if event_type in FLOATLESS else canonical_text)(
            data_json
        )
        pii_text = None if pii_json is None else canonical_text_floatless(pii_json)
        event: dict[str, Any] = {
            "seq": self._head.seq + 1,
            "id": new_id(),
            "type": event_type,
            "at": format_time(at or utc_now()),
            "record_id": record_id,
            "data": data_json,
            "pii_digest": None if pii_text is None else sha256_hex(pii_text.encode("utf-8")),
            "prev_hash": self._head.hash,
        }
        event["hash"] = event_hash(event, data_text)
        event["pii"] = pii_json
        return self._insert(conn, event, data_text, pii_text, local)

    def append_given(self, conn: sqlite3.Connection, event: dict[str, Any]) -> dict[str, Any]:
        """Append an event exactly as another copy of this logbook holds it (a replacement
        post's restore from the hub, `restore.py`), with its projection: only the next seq,
        linked to the head, with its own hash."""
        data_text = canonical_text(event["data"])
        links = (event["seq"], event["prev_hash"]) == (self._head.seq + 1, self._head.hash)
        if not links or event_hash(event, data_text) != event["hash"]:
            raise errors.InvalidValue(f"event {event['seq']} does not continue the logbook")
        pii_text = None if event["pii"] is None else canonical_text(event["pii"])
        return self._insert(conn, event, data_text, pii_text)

    def _insert(
        self,
        conn: sqlite3.Connection,
        event: dict[str, Any],
        data_text: str,
        pii_text: str | None,
        local: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        conn.execute(
            "INSERT INTO events (seq, id, type, at, record_id, data, pii, pii_digest, prev_hash,"
            " hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                event["seq"],
                event["id"],
                event["type"],
                event["at"],
                event["record_id"],
                data_text,
                pii_text,
                event["pii_digest"],
                event["prev_hash"],
                event["hash"],
            ),
        )
        apply_projection(conn, event, local)
        self._head = Head(event["seq"], event["hash"])
        self._committed.append(event)
        return event

    def _checkpoint_loop(self) -> None:
        conn = connect(self.path)
        try:
            while not self._stopping.wait(CHECKPOINT_EVERY_S):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error:
                    log.warning("WAL checkpoint failed; trying again later")
        finally:
            conn.close()

    def checkpoint(self) -> None:
        """Copy the WAL into the database and truncate it (retrying while readers finish)."""
        conn = connect(self.path)
        try:
            if sqlite.truncate_wal(conn):
                return
        finally:
            conn.close()
        log.warning("WAL checkpoint stayed busy; removed bytes leave the WAL at the next one")
