"""The edge's logbook: all of the edge's SQL.

Every change is one event appended to `events` (gapless per-device `seq`, SHA-256 hash chain,
CONTRACT section 4) with its projections (visits, door events, incidents, entries, shift notes)
updated in the same transaction. Writes go through one writer thread that commits concurrent
requests together (group commit): each caller waits for the commit that holds its event, so an
answer of 2xx means the event is on disk, and there is one fsync per group instead of per request.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import queue
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from schemas.canonical import GENESIS_HASH, canonical_json, chain_break, event_hash, pii_digest
from schemas.canonical import json_string as encode_basestring
from schemas.ids import format_time, new_id, parse_time, utc_now
from schemas.privacy import key_id, normalise_name
from schemas.projection import (
    PURGED_VISIT_FIELDS,
    Insert,
    Update,
    changes,
    logbook_line,
)

from . import errors
from .privacy import id_hmac, mask_id, new_salt

log = logging.getLogger(__name__)
T = TypeVar("T")
Work = Callable[[sqlite3.Connection], T]  # one change, run by the writer inside its transaction

DB_FILE = "guardpost.db"
ID_KEY_FILE = "id-hmac.key"
CHECKPOINT_EVERY_S = 1.0  # copy the WAL into the database this often (PASSIVE: never blocks)
MAX_GROUP = 256  # events per group commit; bounds how long one transaction holds the lock
MAX_LOG_STEP = timedelta(days=1)  # the most time one gap between events vouches for (purge)
CLOCK_SLACK = timedelta(minutes=5)  # a clock this far behind the newest event is still fine

INCIDENT_FLOW = ["open", "acknowledged", "in_progress", "resolved", "closed"]

MIGRATIONS: list[str] = [
    # 1: the logbook and its projections
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        at TEXT NOT NULL,
        record_id TEXT NOT NULL,
        data TEXT NOT NULL,
        pii TEXT,
        pii_digest TEXT,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX events_at ON events (at);
    CREATE INDEX events_record ON events (record_id);
    CREATE TABLE sync_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        acked_seq INTEGER NOT NULL DEFAULT 0,
        last_ack_at TEXT
    );
    INSERT INTO sync_state (id, acked_seq) VALUES (1, 0);
    CREATE TABLE units (
        unit TEXT PRIMARY KEY COLLATE NOCASE,
        intercom TEXT,
        residents TEXT,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE visits (
        id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        visitor_name TEXT,
        id_number_masked TEXT,
        id_hmac TEXT,
        unit TEXT NOT NULL,
        category TEXT NOT NULL,
        phone TEXT,
        company TEXT,
        purpose TEXT,
        party_size INTEGER NOT NULL,
        vehicle_plate TEXT,
        notes TEXT,
        checked_in_at TEXT NOT NULL,
        checked_out_at TEXT,
        guard TEXT,
        confirmation_status TEXT NOT NULL,
        request_id TEXT UNIQUE,
        confirmation_expires_at TEXT,
        answered_at TEXT,
        purged_at TEXT
    );
    CREATE INDEX visits_in ON visits (checked_in_at);
    CREATE INDEX visits_on_site ON visits (checked_out_at);
    CREATE INDEX visits_hmac ON visits (id_hmac);
    CREATE TABLE door_events (
        id TEXT PRIMARY KEY,
        door TEXT NOT NULL,
        kind TEXT NOT NULL,
        reason TEXT,
        visit_id TEXT,
        occurred_at TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        guard TEXT,
        api_key TEXT
    );
    CREATE TABLE incidents (
        id TEXT PRIMARY KEY,
        category TEXT NOT NULL,
        severity TEXT NOT NULL,
        title TEXT NOT NULL,
        description TEXT,
        location TEXT,
        visit_id TEXT,
        channel TEXT,
        status TEXT NOT NULL,
        opened_at TEXT NOT NULL,
        due_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        guard TEXT
    );
    CREATE INDEX incidents_status ON incidents (status);
    CREATE TABLE incident_entries (
        id TEXT PRIMARY KEY,
        incident_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL,
        text TEXT NOT NULL,
        at TEXT NOT NULL,
        guard TEXT,
        author TEXT NOT NULL
    );
    CREATE INDEX entries_incident ON incident_entries (incident_id, seq);
    CREATE TABLE shift_notes (
        id TEXT PRIMARY KEY,
        text TEXT NOT NULL,
        at TEXT NOT NULL,
        guard TEXT
    );
    CREATE TABLE guards (
        badge TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        pin_hash TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        scope TEXT NOT NULL,
        key_hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    );
    CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        badge TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        revoked_at TEXT
    );
    CREATE TABLE login_failures (badge TEXT NOT NULL, at TEXT NOT NULL);
    CREATE INDEX login_failures_badge ON login_failures (badge, at);
    """,
    # 2: the intercom (webhook deliveries, residents' pre-approvals) and the hub's watch list
    """
    CREATE TABLE deliveries (
        request_id TEXT PRIMARY KEY,
        visit_id TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        delivered_at TEXT,
        last_error TEXT
    );
    CREATE INDEX deliveries_due ON deliveries (delivered_at, next_attempt_at);
    CREATE INDEX visits_pending ON visits (confirmation_status, confirmation_expires_at);
    CREATE TABLE preapprovals (
        id TEXT PRIMARY KEY,
        unit TEXT NOT NULL COLLATE NOCASE,
        code_hmac TEXT NOT NULL,
        visitor_name TEXT,
        valid_from TEXT NOT NULL,
        valid_until TEXT NOT NULL,
        created_at TEXT NOT NULL,
        api_key TEXT,
        used_at TEXT,
        visit_id TEXT
    );
    CREATE INDEX preapprovals_code ON preapprovals (code_hmac);
    CREATE TABLE watchlist (
        id TEXT PRIMARY KEY,
        id_hmac TEXT,
        name TEXT,
        name_key TEXT,
        reason TEXT NOT NULL,
        severity TEXT NOT NULL
    );
    CREATE INDEX watchlist_hmac ON watchlist (id_hmac);
    CREATE INDEX watchlist_name ON watchlist (name_key);
    ALTER TABLE visits ADD COLUMN flag TEXT;
    """,
]


def connect(path: Path) -> sqlite3.Connection:
    """A connection with the pragmas every edge connection needs."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")  # a Pi loses power without warning; a 2xx must survive
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA secure_delete=ON")  # a purge must really remove the bytes
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema up to date (PRAGMA user_version counts the migrations applied)."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in script.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version={number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    if conn.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
        conn.execute(f"PRAGMA application_id={APPLICATION_ID}")


APPLICATION_ID = 0x47504544  # "GPED" in the file's header: a Guardpost edge database
SQLITE_HEADER = b"SQLite format 3\x00"


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
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                           check_same_thread=False)
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
        raise errors.DamagedDatabase(f"{path} is not a Guardpost edge database "
                                     f"(application_id {application_id:#x})")
    if version > len(MIGRATIONS):
        raise errors.DamagedDatabase(f"{path} was written by a newer Guardpost (schema "
                                     f"version {version}); upgrade guardpost to open it")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    meta: dict[str, str] = {}
    if version >= 1 and {"meta", "events"} <= tables:
        meta = {r[0]: r[1] for r in conn.execute(
            "SELECT key, value FROM meta WHERE key IN ('site', 'device')")}
    if set(meta) != {"site", "device"}:
        raise errors.DamagedDatabase(f"{path} is not a Guardpost edge database "
                                     "(no site and device in it)")


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
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('site', ?), ('device', ?)",
                     (site, device))
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
            f"{data} is already initialised for site {meta.get('site')} "
            f"device {meta.get('device')}"
        )


@dataclass
class Head:
    seq: int
    hash: str


@dataclass
class Actor:
    """Who made a change: a guard (badge) or an API key (name)."""

    kind: str  # "guard" | "key" | "system" | "hub"
    id: str
    name: str = ""
    role: str = ""
    scope: str = ""

    @property
    def ref(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def badge(self) -> str | None:
        return self.id if self.kind == "guard" else None


SYSTEM = Actor("system", "edge")


@dataclass(frozen=True)
class DoorPolicy:
    """Which door events open an incident by themselves, and how severe it is."""

    forced_severity: str = "severe"
    held_open_severity: str = "medium"
    held_open_limit_s: float = 120.0


def is_disk_full(exc: sqlite3.Error) -> bool:
    """SQLITE_FULL: the disk (or the file system holding the database or its WAL) is full."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_FULL or (code is None and "disk is full" in str(exc))


def purge_cutoff(stamps: list[datetime], now: datetime, retention: timedelta) -> datetime:
    """The purge's cutoff: personal data checked in before it goes.

    A Pi has no RTC, so the wall clock alone cannot say a record is old: a post restarted a
    year ahead would erase visitors registered a minute earlier. The log keeps its own time:
    walking the events in seq order, each step between two events' `at` counts when it is
    between 0 and MAX_LOG_STEP, a larger step (a clock jump, or a gap the log cannot vouch
    for) or a step back counts nothing; the time since the newest event counts the same way.
    A record is old when it is older than retention by that log time as well as by the wall
    clock. Log time never runs ahead of real time, so a wrong clock can only delay a purge
    (by the gaps it did not count), never bring one forward. `stamps`: the events' `at` in
    seq order."""
    wall_cutoff = now - retention
    if not stamps:
        return wall_cutoff
    log_times: list[datetime] = []
    log_now = stamps[0]
    previous = stamps[0]
    for at in stamps:
        step = at - previous
        if timedelta(0) <= step <= MAX_LOG_STEP:
            log_now += step
        log_times.append(log_now)
        previous = at
    step = now - previous
    if timedelta(0) <= step <= MAX_LOG_STEP:
        log_now += step
    # the events the log says are younger than retention: none of them may be purged, so the
    # cutoff is at or before the earliest stamp among them (log time only grows with seq)
    young = [at for at, logged in zip(stamps, log_times, strict=True)
             if logged >= log_now - retention]
    return min([wall_cutoff, *young])


def retry_delay_s(attempts: int) -> float:
    """Backoff between webhook attempts: 1, 2, 4, 8, 15, 15, ... seconds."""
    return float(min(2 ** max(attempts - 1, 0), 15))


@dataclass
class _Job:
    work: Callable[[sqlite3.Connection], Any]
    future: Future[Any]


class Logbook:
    """One post's logbook: appends events with their projections and answers the reads."""

    def __init__(
        self,
        data: Path,
        *,
        zone: ZoneInfo | None = None,
        deadlines_h: dict[str, float] | None = None,
        confirm_timeout_s: float = 90.0,
        intercom_enabled: bool = False,
        doors: DoorPolicy | None = None,
    ) -> None:
        if not is_initialised(data):
            raise errors.NotInitialised(
                f"{data} is not initialised; run guardpost-edge init --data {data} first"
            )
        self.data = data
        self.path = data / DB_FILE
        self.zone = zone or ZoneInfo("Asia/Hong_Kong")
        self.deadlines_h = deadlines_h or {"minor": 72.0, "medium": 24.0, "severe": 1.0}
        self.confirm_timeout_s = confirm_timeout_s
        self.intercom_enabled = intercom_enabled
        self.doors = doors or DoorPolicy()
        self._id_key = (data / ID_KEY_FILE).read_bytes()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        check_database(self.path, "quick_check")  # before anything writes to it
        self._writer_conn = connect(self.path)
        migrate(self._writer_conn)
        meta = dict(self._writer_conn.execute("SELECT key, value FROM meta").fetchall())
        self.site: str = meta["site"]
        self.device: str = meta["device"]
        self._head = self._load_head()
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._after_commit: list[Callable[[list[dict[str, Any]]], None]] = []
        self._committed: list[dict[str, Any]] = []
        self._disk_full = False
        self._closed = False
        self._submit_lock = threading.Lock()
        self._writer = threading.Thread(target=self._write_loop, name="logbook-writer", daemon=True)
        self._writer.start()
        # checkpoints run beside the writer, not inside a commit, so a guard never waits for one
        self._writer_conn.execute("PRAGMA wal_autocheckpoint=0")
        self._stopping = threading.Event()
        self._checkpointer = threading.Thread(target=self._checkpoint_loop, name="checkpoint",
                                              daemon=True)
        self._checkpointer.start()

    # ---- plumbing ---------------------------------------------------------------------------

    def close(self) -> None:
        self._stopping.set()
        self._checkpointer.join(timeout=10)
        with self._submit_lock:
            self._closed = True
            self._queue.put(None)
        self._writer.join(timeout=10)
        while True:  # whatever came after the stop is refused, never left waiting
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is not None and not job.future.done():
                job.future.set_exception(errors.StorageFailed("the logbook is closed"))
        self._writer_conn.close()
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()

    def on_commit(self, callback: Callable[[list[dict[str, Any]]], None]) -> None:
        """Call `callback(events)` after each commit that appended events (sync, live pages)."""
        self._after_commit.append(callback)

    @property
    def _read(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def _load_head(self) -> Head:
        row = self._writer_conn.execute(
            "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return Head(row["seq"], row["hash"]) if row else Head(0, GENESIS_HASH)

    def submit(self, work: Work[T]) -> Future[T]:
        """Queue `work(conn)` for the writer; the future resolves once it is on disk."""
        future: Future[T] = Future()
        with self._submit_lock:
            if self._closed or not self._writer.is_alive():  # nothing would ever answer
                future.set_exception(errors.StorageFailed("the logbook is closed"))
                return future
            self._queue.put(_Job(work, future))
        return future

    def write(self, work: Work[T]) -> T:
        """Run `work(conn)` in the writer's transaction; return once it is committed to disk."""
        return self.submit(work).result()

    async def run(self, work: Work[T]) -> T:
        """`write` for async callers: the event loop serves others while the commit happens."""
        return await asyncio.wrap_future(self.submit(work))

    @property
    def disk_full(self) -> bool:
        """True while the last write failed for want of disk space (until one succeeds)."""
        return self._disk_full

    def _write_loop(self) -> None:
        # nothing may escape this loop: a dead writer would leave every later caller waiting
        while True:
            job = self._queue.get()
            if job is None:
                return
            group = [job]
            while len(group) < MAX_GROUP:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)  # finish this group, then stop
                    break
                group.append(more)
            try:
                self._commit_group(group)
            except BaseException as exc:
                log.exception("group commit failed unexpectedly", extra={"jobs": len(group)})
                self._abandon(group, exc)

    def _abandon(self, group: list[_Job], error: BaseException) -> None:
        """Fail every caller of a group that did not commit, and reload the head from disk so
        the next group continues from what is really stored (nothing half-written, no gap)."""
        self._committed = []
        conn = self._writer_conn
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
        for job in group:
            if not job.future.done():
                job.future.set_exception(error)

    def _storage_error(self, exc: BaseException) -> BaseException:
        """What a caller gets for a write that failed: a full disk is DiskFull (507), another
        database failure StorageFailed (503); anything else as it was raised."""
        if not isinstance(exc, sqlite3.Error) or isinstance(exc, sqlite3.IntegrityError):
            return exc
        if is_disk_full(exc):
            if not self._disk_full:
                log.error("the disk is full: writes fail until space is freed")
            self._disk_full = True
            return errors.DiskFull("the post's disk is full; nothing was saved. Free some "
                                   "space, then try again")
        return errors.StorageFailed(f"the database could not save this "
                                    f"({exc.__class__.__name__}); nothing was saved")

    def _commit_group(self, group: list[_Job]) -> None:
        conn = self._writer_conn
        outcomes: list[tuple[_Job, Any, BaseException | None]] = []
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
            log.error("group commit failed", extra={"events": len(self._committed),
                                                    "error": exc.__class__.__name__,
                                                    "disk_full": is_disk_full(exc)})
            self._abandon(group, exc)
            return
        self._disk_full = False
        committed = self._committed
        self._committed = []
        for job, result, error in outcomes:
            if error is None:
                job.future.set_result(result)
            else:
                job.future.set_exception(error)
        if committed:
            for callback in self._after_commit:
                try:
                    callback(committed)
                except Exception:
                    log.exception("after-commit callback failed")

    def _append(
        self,
        conn: sqlite3.Connection,
        event_type: str,
        record_id: str,
        data: dict[str, Any],
        pii: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> dict[str, Any]:
        """Append one event (inside a `write`): next seq, chained hash, then its projection."""
        event: dict[str, Any] = {
            "seq": self._head.seq + 1,
            "id": new_id(),
            "type": event_type,
            "at": format_time(at or utc_now()),
            "record_id": record_id,
            "data": data,
            "pii_digest": pii_digest(pii),
            "prev_hash": self._head.hash,
        }
        event["hash"] = event_hash(event)
        event["pii"] = pii
        conn.execute(
            "INSERT INTO events (seq, id, type, at, record_id, data, pii, pii_digest, prev_hash,"
            " hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                event["seq"],
                event["id"],
                event_type,
                event["at"],
                record_id,
                canonical_json(data).decode(),
                None if pii is None else canonical_json(pii).decode(),
                event["pii_digest"],
                event["prev_hash"],
                event["hash"],
            ),
        )
        apply_projection(conn, event)
        self._head = Head(event["seq"], event["hash"])
        self._committed.append(event)
        return event

    # ---- visits -----------------------------------------------------------------------------

    # Commands: each returns the work of one change; `write(work)` or `await run(work)` does it
    # and answers the changed record as the writer sees it.

    def register_visit(self, body: dict[str, Any], by: Actor) -> Work[dict[str, Any]]:
        """Register a visitor; the full ID number is masked and HMACed here and then dropped.

        A visit to a unit with an intercom gets a pending confirmation request and its webhook
        delivery row in the same transaction (the delivery survives a restart); a resident's
        pre-approval code approves it at once instead; a watch-list match flags the visit and
        opens a linked incident."""
        id_number = (body.get("id_number") or "").strip() or None
        masked = mask_id(id_number) if id_number else None
        hmac_hex = id_hmac(self._id_key, id_number) if id_number else None
        code = (body.get("preapproval_code") or "").strip()
        code_hmac = self._code_hmac(code) if code else None
        visit_id = new_id()

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            now = utc_now()  # checked_in_at is the event's own time
            unit = conn.execute(
                "SELECT unit, intercom FROM units WHERE unit = ?", (body["unit"],)
            ).fetchone()
            if unit is None:
                raise errors.UnknownUnit(f"unknown unit {body['unit']!r}")
            confirmation: dict[str, Any] = {"status": "not_required", "request_id": None,
                                            "answered_at": None}
            expires_at = None
            preapproval = self._use_preapproval(conn, code_hmac, unit["unit"], visit_id, now) \
                if code_hmac else None
            if preapproval:
                confirmation = {"status": "approved", "request_id": None,
                                "answered_at": format_time(now)}
            elif self.intercom_enabled and unit["intercom"]:
                confirmation = {"status": "pending", "request_id": new_id(), "answered_at": None}
                expires_at = format_time(now + timedelta(seconds=self.confirm_timeout_s))
            match = self._watchlist_match(conn, hmac_hex, body["visitor_name"])
            pii = {
                "salt": new_salt(),
                "visitor_name": body["visitor_name"],
                "id_number_masked": masked,
                "phone": body.get("phone") or None,
                "vehicle_plate": body.get("vehicle_plate") or None,
                "notes": body.get("notes") or None,
            }
            data: dict[str, Any] = {
                "unit": unit["unit"],
                "category": body["category"],
                "company": body.get("company") or None,
                "purpose": body.get("purpose") or None,
                "party_size": body.get("party_size") or 1,
                "checked_in_at": format_time(now),
                "confirmation": confirmation,
                "by": by.ref,
            }
            if preapproval:
                data["preapproval_id"] = preapproval
            if match:
                data["flag"] = "watch_list"
            self._append(conn, "visit.registered", visit_id, data, pii, at=now)
            conn.execute(
                "UPDATE visits SET id_hmac = ?, confirmation_expires_at = ? WHERE id = ?",
                (hmac_hex, expires_at, visit_id),
            )
            if confirmation["status"] == "pending":
                conn.execute("INSERT INTO deliveries (request_id, visit_id, next_attempt_at)"
                             " VALUES (?, ?, ?)",
                             (confirmation["request_id"], visit_id, format_time(now)))
            if match:
                self._append(conn, "incident.opened", new_id(), {
                    "category": "watch_list", "severity": match["severity"],
                    "title": f"Watch list: {unit['unit']}",
                    "description": match["reason"], "location": None, "visit_id": visit_id,
                    "channel": "in_person", "by": SYSTEM.ref,
                    "due_at": format_time(now + timedelta(
                        hours=self.deadlines_h[match["severity"]])),
                }, at=now)
            return self._visit_out(self._visit_row(conn, visit_id))

        return work

    def _code_hmac(self, code: str) -> str:
        return hmac.new(self._id_key, b"preapproval:" + code.encode(), hashlib.sha256).hexdigest()

    def _use_preapproval(self, conn: sqlite3.Connection, code_hmac: str, unit: str,
                         visit_id: str, now: datetime) -> str:
        """Spend a pre-approval code on this visit; its id, or a 422 naming the field."""
        rows = conn.execute("SELECT * FROM preapprovals WHERE code_hmac = ? ORDER BY created_at"
                            " DESC", (code_hmac,)).fetchall()
        for_unit = [r for r in rows if r["unit"].casefold() == unit.casefold()]
        when = format_time(now)
        if not for_unit:
            problem = "the code is for another unit" if rows else "unknown code"
            raise errors.PreapprovalRefused(problem)
        usable = [r for r in for_unit if r["used_at"] is None]
        if not usable:
            raise errors.PreapprovalRefused("the code was already used")
        current = [r for r in usable if r["valid_from"] <= when < r["valid_until"]]
        if not current:
            early = all(r["valid_from"] > when for r in usable)
            raise errors.PreapprovalRefused("the code is not valid yet" if early
                                            else "the code has expired")
        chosen = current[0]["id"]
        conn.execute("UPDATE preapprovals SET used_at = ?, visit_id = ? WHERE id = ?",
                     (when, visit_id, chosen))
        return str(chosen)

    def _watchlist_match(self, conn: sqlite3.Connection, hmac_hex: str | None,
                         visitor_name: str) -> dict[str, Any] | None:
        """The watch-list entry this visitor matches (by ID number's HMAC, or by name)."""
        row = None
        if hmac_hex:
            row = conn.execute("SELECT * FROM watchlist WHERE id_hmac = ?", (hmac_hex,)) \
                .fetchone()
        name_key = normalise_name(visitor_name)
        if row is None and name_key:
            row = conn.execute("SELECT * FROM watchlist WHERE name_key = ?", (name_key,)) \
                .fetchone()
        return dict(row) if row else None

    def _visit_row(self, conn: sqlite3.Connection, visit_id: str) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM visits WHERE id = ?", (visit_id,)).fetchone()
        if row is None:
            raise errors.NotFound(f"no visit {visit_id}", loc=("path", "id"))
        return row  # type: ignore[no-any-return]

    def check_out(self, visit_id: str, by: Actor) -> Work[dict[str, Any]]:
        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            row = self._visit_row(conn, visit_id)
            if row["checked_out_at"] is not None:
                raise errors.AlreadyCheckedOut(
                    f"visit was already checked out at {row['checked_out_at']}", loc=("path", "id")
                )
            data = {"checked_out_at": format_time(utc_now()), "by": by.ref}
            self._append(conn, "visit.checked_out", visit_id, data)
            return self._visit_out(self._visit_row(conn, visit_id))

        return work

    def override(
        self, visit_id: str, reason: str, by: Actor, door: str = "lobby"
    ) -> Work[dict[str, Any]]:
        """The guard lets the visitor in without the resident's answer, with a reason."""

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            row = self._visit_row(conn, visit_id)
            if row["confirmation_status"] in ("approved", "denied", "overridden"):
                raise errors.ConfirmationClosed(
                    f"confirmation is already {row['confirmation_status']}", loc=("path", "id")
                )
            now = format_time(utc_now())
            confirmation = {"status": "overridden", "request_id": row["request_id"],
                            "answered_at": now}
            self._append(conn, "visit.confirmation", visit_id,
                         {"confirmation": confirmation, "reason": reason, "by": by.ref})
            self._append(conn, "door.event", new_id(), {
                "door": door, "kind": "guard_override", "reason": reason, "visit_id": visit_id,
                "occurred_at": now, "by": by.ref,
            })
            return self._visit_out(self._visit_row(conn, visit_id))

        return work

    def answer_confirmation(
        self, request_id: str, decision: str, by: Actor
    ) -> Work[dict[str, Any]]:
        """A resident's answer through the intercom gateway."""

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            row = conn.execute(
                "SELECT * FROM visits WHERE request_id = ?", (request_id,)).fetchone()
            if row is None:
                raise errors.NotFound(f"no confirmation request {request_id}",
                                      loc=("body", "request_id"))
            now = utc_now()
            if row["confirmation_status"] != "pending":
                raise errors.ConfirmationClosed(
                    f"request is already {row['confirmation_status']}", loc=("body", "request_id"))
            if row["confirmation_expires_at"] and parse_time(row["confirmation_expires_at"]) <= now:
                raise errors.ConfirmationClosed("request has expired", loc=("body", "request_id"))
            status = "approved" if decision == "approve" else "denied"
            confirmation = {"status": status, "request_id": request_id,
                            "answered_at": format_time(now)}
            self._append(conn, "visit.confirmation", row["id"],
                         {"confirmation": confirmation, "by": by.ref})
            if status == "approved":
                self._append(conn, "door.event", new_id(), {
                    "door": "lobby", "kind": "intercom_release", "reason": None,
                    "visit_id": row["id"], "occurred_at": format_time(now), "by": by.ref,
                })
            return self._visit_out(self._visit_row(conn, row["id"]))

        return work

    def expire_confirmations(self) -> Work[int]:
        """Every pending request past its `expires_at` becomes `no_answer` (a background job;
        also right after a restart, for what expired while the post was down)."""

        def work(conn: sqlite3.Connection) -> int:
            rows = conn.execute(
                "SELECT id, request_id FROM visits WHERE confirmation_status = 'pending'"
                " AND confirmation_expires_at <= ? ORDER BY confirmation_expires_at",
                (format_time(utc_now()),)).fetchall()
            for row in rows:
                self._append(conn, "visit.confirmation", row["id"], {"confirmation": {
                    "status": "no_answer", "request_id": row["request_id"], "answered_at": None},
                    "by": SYSTEM.ref})
            return len(rows)

        return work

    def due_deliveries(self, limit: int = 20) -> list[dict[str, Any]]:
        """Webhook deliveries to make now: undelivered, still pending, not yet expired."""
        now = format_time(utc_now())
        rows = self._read.execute(
            "SELECT d.request_id, d.visit_id, d.attempts, v.unit, u.intercom, v.visitor_name,"
            " v.category, v.party_size, v.confirmation_expires_at AS expires_at"
            " FROM deliveries d JOIN visits v ON v.id = d.visit_id"
            " LEFT JOIN units u ON u.unit = v.unit"
            " WHERE d.delivered_at IS NULL AND d.next_attempt_at <= ?"
            " AND v.confirmation_status = 'pending' AND v.confirmation_expires_at > ?"
            " ORDER BY d.next_attempt_at LIMIT ?", (now, now, limit))
        return [dict(r) for r in rows]

    def next_intercom_due(self) -> datetime | None:
        """When the intercom worker next has something to do (a retry or an expiry)."""
        row = self._read.execute(
            "SELECT MIN(t) FROM ("
            " SELECT d.next_attempt_at AS t FROM deliveries d JOIN visits v ON v.id = d.visit_id"
            "  WHERE d.delivered_at IS NULL AND v.confirmation_status = 'pending'"
            " UNION ALL SELECT confirmation_expires_at FROM visits"
            "  WHERE confirmation_status = 'pending')").fetchone()
        return parse_time(row[0]) if row and row[0] else None

    def delivery_done(self, request_id: str) -> None:
        self.write(lambda conn: conn.execute(
            "UPDATE deliveries SET delivered_at = ?, attempts = attempts + 1, last_error = NULL"
            " WHERE request_id = ?", (format_time(utc_now()), request_id)))

    def delivery_failed(self, request_id: str, error: str) -> None:
        """Count a failed attempt and schedule the next one after the backoff."""

        def work(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT attempts FROM deliveries WHERE request_id = ?",
                               (request_id,)).fetchone()
            attempts = (row["attempts"] if row else 0) + 1
            conn.execute(
                "UPDATE deliveries SET attempts = ?, last_error = ?, next_attempt_at = ?"
                " WHERE request_id = ?",
                (attempts, error[:200],
                 format_time(utc_now() + timedelta(seconds=retry_delay_s(attempts))),
                 request_id))

        self.write(work)

    def delivery_state(self, visit_id: str) -> dict[str, Any] | None:
        """How ringing the flat is going, for the visit page."""
        row = self._read.execute(
            "SELECT attempts, delivered_at, last_error FROM deliveries WHERE visit_id = ?",
            (visit_id,)).fetchone()
        return dict(row) if row else None

    # ---- residents' pre-approvals ------------------------------------------------------------

    def create_preapproval(self, body: dict[str, Any], by: Actor) -> Work[dict[str, Any]]:
        """A resident expects a visitor: a code the guard enters at registration approves the
        visit at once. Only the code's keyed HMAC is kept; the code is answered once."""
        preapproval_id = new_id()

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            now = utc_now()
            unit = conn.execute("SELECT unit FROM units WHERE unit = ?", (body["unit"],)) \
                .fetchone()
            if unit is None:
                raise errors.UnknownUnit(f"unknown unit {body['unit']!r}")
            valid_from = body.get("valid_from") or now
            valid_until = body["valid_until"]
            if valid_until <= max(valid_from, now):
                raise errors.InvalidValue("valid_until must be in the future and after valid_from",
                                          loc=("body", "valid_until"))
            code = body.get("code")
            for _ in range(20):
                candidate = code or f"{secrets.randbelow(10**6):06d}"
                if not conn.execute(
                        "SELECT 1 FROM preapprovals WHERE code_hmac = ? AND unit = ?"
                        " AND used_at IS NULL AND valid_until > ?",
                        (self._code_hmac(candidate), unit["unit"], format_time(now))).fetchone():
                    break
                if code:
                    raise errors.InvalidValue("this code is already in use for the unit",
                                              loc=("body", "code"))
            code = candidate
            row = {"id": preapproval_id, "unit": unit["unit"], "code_hmac": self._code_hmac(code),
                   "visitor_name": body.get("visitor_name") or None,
                   "valid_from": format_time(valid_from), "valid_until": format_time(valid_until),
                   "created_at": format_time(now), "api_key": by.id}
            conn.execute(f"INSERT INTO preapprovals ({', '.join(row)})"
                         f" VALUES ({', '.join('?' * len(row))})", tuple(row.values()))
            self._append(conn, "preapproval.created", preapproval_id, {
                "unit": row["unit"], "valid_from": row["valid_from"],
                "valid_until": row["valid_until"], "by": by.ref},
                {"salt": new_salt(), "visitor_name": row["visitor_name"]}, at=now)
            return {**self._preapproval_out(conn, preapproval_id), "code": code}

        return work

    def _preapproval_out(self, conn: sqlite3.Connection, preapproval_id: str) -> dict[str, Any]:
        row = conn.execute("SELECT id, unit, visitor_name, valid_from, valid_until, created_at,"
                           " used_at, visit_id FROM preapprovals WHERE id = ?",
                           (preapproval_id,)).fetchone()
        return {**dict(row), "code": None}

    def preapproval_for(self, visit_id: str) -> dict[str, Any] | None:
        row = self._read.execute("SELECT id FROM preapprovals WHERE visit_id = ?",
                                 (visit_id,)).fetchone()
        return self._preapproval_out(self._read, row["id"]) if row else None

    # ---- the hub's watch list -----------------------------------------------------------------

    def apply_watchlist(self, message: dict[str, Any]) -> bool:
        """Replace the watch list with the hub's newer version (applied once per message id;
        the `watchlist.applied` event tells the hub it arrived). True if it was new."""
        message_id, version = str(message["id"]), int(message["version"])
        entries = list(message.get("entries") or [])
        same_key = message.get("key_id") == key_id(self._id_key)
        if not same_key:
            log.warning("watch list HMAC key differs from this post's: matching by name only",
                        extra={"version": version})

        def work(conn: sqlite3.Connection) -> bool:
            if conn.execute("SELECT 1 FROM events WHERE record_id = ? AND type ="
                            " 'watchlist.applied'", (message_id,)).fetchone():
                return False
            stored = conn.execute("SELECT value FROM meta WHERE key = 'watchlist_version'") \
                .fetchone()
            current = int(stored[0]) if stored else 0
            if version > current:
                conn.execute("DELETE FROM watchlist")
                for entry in entries:
                    name = entry.get("name") or None
                    conn.execute(
                        "INSERT INTO watchlist (id, id_hmac, name, name_key, reason, severity)"
                        " VALUES (?, ?, ?, ?, ?, ?)",
                        (str(entry["id"]), entry.get("id_hmac") if same_key else None, name,
                         (normalise_name(name) or None) if name else None, str(entry["reason"]),
                         str(entry.get("severity") or "severe")))
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('watchlist_version', ?)",
                             (str(version),))
            self._append(conn, "watchlist.applied", message_id, {
                "version": max(version, current), "entries": len(entries) if version > current
                else int(conn.execute("SELECT COUNT(*) FROM watchlist").fetchone()[0]),
                "by": "hub:watchlist"})
            return True

        return self.write(work)

    def watchlist_entry(self, entry_id: str) -> dict[str, Any] | None:
        row = self._read.execute("SELECT id, name, reason, severity FROM watchlist WHERE id = ?",
                                 (entry_id,)).fetchone()
        return dict(row) if row else None

    def get_visit(self, visit_id: str) -> dict[str, Any]:
        return self._visit_out(self._visit_row(self._read, visit_id))

    def list_visits(
        self, *, on_site: bool | None = None, day: date | None = None, unit: str | None = None
    ) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM visits WHERE 1=1", []
        if on_site is True:
            sql += " AND checked_out_at IS NULL"
        elif on_site is False:
            sql += " AND checked_out_at IS NOT NULL"
        if day is not None:
            start, end = self.day_bounds(day)
            sql += " AND checked_in_at >= ? AND checked_in_at < ?"
            args += [start, end]
        if unit:
            sql += " AND unit = ? COLLATE NOCASE"
            args.append(unit)
        sql += " ORDER BY checked_in_at DESC, id DESC"
        return [self._visit_out(row) for row in self._read.execute(sql, args)]

    def _visit_out(self, row: sqlite3.Row) -> dict[str, Any]:
        return {
            "id": row["id"], "site": self.site, "device": self.device,
            "visitor_name": row["visitor_name"], "id_number_masked": row["id_number_masked"],
            "unit": row["unit"], "category": row["category"], "phone": row["phone"],
            "company": row["company"], "purpose": row["purpose"],
            "party_size": row["party_size"], "vehicle_plate": row["vehicle_plate"],
            "notes": row["notes"], "checked_in_at": row["checked_in_at"],
            "checked_out_at": row["checked_out_at"], "guard": row["guard"],
            "confirmation": {"status": row["confirmation_status"],
                             "request_id": row["request_id"], "answered_at": row["answered_at"]},
            "flag": row["flag"],
        }

    def repeat_visitor(self, id_number: str) -> dict[str, Any] | None:
        """The name and company of the latest visit by the same ID number (matched by keyed
        HMAC; the number itself is never stored), unless purged."""
        if not id_number.strip():
            return None
        row = self._read.execute(
            "SELECT visitor_name, company FROM visits WHERE id_hmac = ?"
            " AND visitor_name IS NOT NULL ORDER BY checked_in_at DESC LIMIT 1",
            (id_hmac(self._id_key, id_number),)).fetchone()
        return dict(row) if row else None

    # ---- door events ------------------------------------------------------------------------

    def record_door_event(self, body: dict[str, Any], by: Actor) -> Work[dict[str, Any]]:
        """Log a door event; `forced`, and `held_open` past the post's limit, also open a
        security incident in the same transaction (the tablet's home shows it at once)."""
        event_id = new_id()
        occurred = body.get("occurred_at")
        occurred_at = format_time(occurred) if isinstance(occurred, datetime) else None
        duration_s = body.get("duration_s")

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            visit_id = body.get("visit_id") or None
            if visit_id and conn.execute(
                "SELECT 1 FROM visits WHERE id = ?", (visit_id,)
            ).fetchone() is None:
                raise errors.UnknownVisit(f"no visit {visit_id}")
            data: dict[str, Any] = {
                "door": body["door"], "kind": body["kind"], "reason": body.get("reason") or None,
                "visit_id": visit_id, "occurred_at": occurred_at or format_time(utc_now()),
                "by": by.ref,
            }
            if duration_s is not None:
                data["duration_s"] = duration_s
            self._append(conn, "door.event", event_id, data)
            door = {**self.get_door_event(event_id, conn), "incident_id": None}
            severity = self._door_incident_severity(body["kind"], duration_s)
            if severity:
                opened = utc_now()
                incident_id = new_id()
                self._append(conn, "incident.opened", incident_id, {
                    "category": "security", "severity": severity,
                    "title": f"Door {body['door']}: {body['kind']}",
                    "description": f"door event {event_id} at {data['occurred_at']}"
                    + (f", open for {duration_s:.0f} s" if duration_s is not None else ""),
                    "location": body["door"], "visit_id": visit_id, "channel": "other",
                    "due_at": format_time(opened + timedelta(hours=self.deadlines_h[severity])),
                    "by": by.ref,
                }, at=opened)
                door["incident_id"] = incident_id
            return door

        return work

    def _door_incident_severity(self, kind: str, duration_s: float | None) -> str | None:
        if kind == "forced":
            return self.doors.forced_severity
        if kind == "held_open" and (duration_s is None
                                    or duration_s >= self.doors.held_open_limit_s):
            return self.doors.held_open_severity
        return None

    def get_door_event(
        self, event_id: str, conn: sqlite3.Connection | None = None
    ) -> dict[str, Any]:
        row = (conn or self._read).execute(
            "SELECT * FROM door_events WHERE id = ?", (event_id,)).fetchone()
        if row is None:
            raise errors.NotFound(f"no door event {event_id}", loc=("path", "id"))
        return {"site": self.site, "device": self.device, **dict(row)}

    # ---- incidents --------------------------------------------------------------------------

    def open_incident(self, body: dict[str, Any], by: Actor) -> Work[dict[str, Any]]:
        incident_id = new_id()

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            opened = utc_now()  # due_at is exactly opened_at + the severity's deadline
            due_at = format_time(opened + timedelta(hours=self.deadlines_h[body["severity"]]))
            visit_id = body.get("visit_id") or None
            if visit_id and conn.execute(
                "SELECT 1 FROM visits WHERE id = ?", (visit_id,)
            ).fetchone() is None:
                raise errors.UnknownVisit(f"no visit {visit_id}")
            self._append(conn, "incident.opened", incident_id, {
                "category": body["category"], "severity": body["severity"],
                "title": body["title"], "description": body.get("description") or None,
                "location": body.get("location") or None, "visit_id": visit_id,
                "channel": body.get("channel") or None, "due_at": due_at, "by": by.ref,
            }, at=opened)
            return self.get_incident(incident_id, conn=conn)

        return work

    def add_entry(
        self, incident_id: str, kind: str, text: str, by: Actor
    ) -> Work[dict[str, Any]]:
        entry_id = new_id()

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            if conn.execute("SELECT 1 FROM incidents WHERE id = ?", (incident_id,)).fetchone() \
                    is None:
                raise errors.NotFound(f"no incident {incident_id}", loc=("path", "id"))
            self._append(conn, "incident.entry", entry_id,
                         {"incident_id": incident_id, "kind": kind, "text": text, "by": by.ref})
            row = conn.execute("SELECT * FROM incident_entries WHERE id = ?", (entry_id,))
            return _entry_out(row.fetchone())

        return work

    def set_incident_status(
        self, incident_id: str, status: str, by: Actor
    ) -> Work[dict[str, Any]]:
        """Move an incident one step along open -> acknowledged -> in_progress -> resolved ->
        closed; a complaint closes only after a follow_up and a summary entry; only a
        supervisor closes. The record's state is checked first (409), then the role (403)."""

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            row = conn.execute("SELECT status, category FROM incidents WHERE id = ?",
                               (incident_id,)).fetchone()
            if row is None:
                raise errors.NotFound(f"no incident {incident_id}", loc=("path", "id"))
            current = row["status"]
            position = INCIDENT_FLOW.index(current)
            if position + 1 >= len(INCIDENT_FLOW) or INCIDENT_FLOW[position + 1] != status:
                allowed = INCIDENT_FLOW[position + 1] if position + 1 < len(INCIDENT_FLOW) else None
                raise errors.TransitionForbidden(
                    f"cannot go from {current} to {status}"
                    + (f"; next is {allowed}" if allowed else "; the incident is closed")
                )
            if status == "closed" and row["category"] == "complaint":
                kinds = {k for (k,) in conn.execute(
                    "SELECT DISTINCT kind FROM incident_entries WHERE incident_id = ?",
                    (incident_id,))}
                missing = [k for k in ("follow_up", "summary") if k not in kinds]
                if missing:
                    raise errors.TransitionForbidden(
                        "a complaint closes only after its " + " and ".join(missing) + " entry")
            if status == "closed" and by.kind == "guard" and by.role != "supervisor":
                raise errors.Forbidden("only a supervisor may close an incident")
            self._append(conn, "incident.status", incident_id,
                         {"status": status, "previous": current, "by": by.ref})
            return self.get_incident(incident_id, conn=conn)

        return work

    def get_incident(
        self, incident_id: str, *, with_entries: bool = True,
        conn: sqlite3.Connection | None = None,
    ) -> dict[str, Any]:
        conn = conn or self._read
        row = conn.execute("SELECT * FROM incidents WHERE id = ?", (incident_id,)).fetchone()
        if row is None:
            raise errors.NotFound(f"no incident {incident_id}", loc=("path", "id"))
        incident = self._incident_out(row)
        if with_entries:
            incident["entries"] = [_entry_out(e) for e in conn.execute(
                "SELECT * FROM incident_entries WHERE incident_id = ? ORDER BY seq",
                (incident_id,))]
        return incident

    def incidents_for_visit(self, visit_id: str) -> list[dict[str, Any]]:
        rows = self._read.execute(
            "SELECT * FROM incidents WHERE visit_id = ? ORDER BY opened_at", (visit_id,))
        return [self._incident_out(row) for row in rows]

    def list_incidents(
        self, *, status: str | None = None, severity: str | None = None,
        overdue: bool | None = None,
    ) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM incidents WHERE 1=1", []
        if status:
            sql += " AND status = ?"
            args.append(status)
        if severity:
            sql += " AND severity = ?"
            args.append(severity)
        rows = self._read.execute(sql + " ORDER BY opened_at DESC, id DESC", args)
        incidents = [self._incident_out(row) for row in rows]
        if overdue is not None:
            incidents = [i for i in incidents if i["overdue"] is overdue]
        return incidents

    def _incident_out(self, row: sqlite3.Row) -> dict[str, Any]:
        incident = {"site": self.site, "device": self.device, **dict(row)}
        incident["overdue"] = row["status"] in ("open", "acknowledged", "in_progress") and (
            row["due_at"] < format_time(utc_now()))
        return incident

    # ---- shift notes ------------------------------------------------------------------------

    def add_shift_note(self, text: str, by: Actor) -> Work[dict[str, Any]]:
        note_id = new_id()

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            self._append(conn, "shift.note", note_id, {"text": text, "by": by.ref})
            row = conn.execute("SELECT * FROM shift_notes WHERE id = ?", (note_id,)).fetchone()
            return {"site": self.site, "device": self.device, **dict(row)}

        return work

    # ---- the logbook itself -----------------------------------------------------------------

    def day_bounds(self, day: date) -> tuple[str, str]:
        """The UTC interval [start, end) of one local date in the site's time zone."""
        start = datetime(day.year, day.month, day.day, tzinfo=self.zone)
        end = start + timedelta(days=1)
        return format_time(start), format_time(end)

    def today(self) -> date:
        return utc_now().astimezone(self.zone).date()

    def logbook(self, day: date, raw: bool = False) -> list[dict[str, Any]]:
        """The day's lines in seq order; `raw` adds each event's `data` and `pii` (for pages
        that word the lines in their own language)."""
        start, end = self.day_bounds(day)
        rows = self._read.execute(
            "SELECT seq, at, type, record_id, data, pii FROM events WHERE at >= ? AND at < ?"
            " ORDER BY seq", (start, end))
        return [logbook_line(r, raw) for r in rows]

    def since_last_handover(self, limit: int = 500, raw: bool = False) -> list[dict[str, Any]]:
        """The logbook lines after the last shift note, oldest first (the handover page)."""
        rows = self._read.execute(
            "SELECT seq, at, type, record_id, data, pii FROM events WHERE seq >"
            " (SELECT COALESCE(MAX(seq), 0) FROM events WHERE type = 'shift.note')"
            " ORDER BY seq LIMIT ?", (limit,))
        return [logbook_line(r, raw) for r in rows]

    def events_after(self, seq: int, limit: int = 1000) -> list[dict[str, Any]]:
        """Events with seq > `seq`, in order, as they travel (CONTRACT 4)."""
        rows = self._read.execute(
            "SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit))
        return [_event_out(row) for row in rows]

    def encoded_events_after(self, seq: int, limit: int = 500) -> list[tuple[int, bytes]]:
        """Events with seq > `seq` as their canonical JSON bytes, ready to send: assembled from
        the stored canonical `data` and `pii` texts without decoding them (a long backlog)."""
        rows = self._read.execute(
            "SELECT seq, id, type, at, record_id, data, pii, pii_digest, prev_hash, hash"
            " FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit))
        return [(r[0], "".join((
            '{"at":', encode_basestring(r[3]), ',"data":', r[5],
            ',"hash":', encode_basestring(r[9]), ',"id":', encode_basestring(r[1]),
            ',"pii":', "null" if r[6] is None else r[6],
            ',"pii_digest":', "null" if r[7] is None else encode_basestring(r[7]),
            ',"prev_hash":', encode_basestring(r[8]),
            ',"record_id":', encode_basestring(r[4]), ',"seq":', str(r[0]),
            ',"type":', encode_basestring(r[2]), "}")).encode("utf-8")) for r in rows]

    def sync_state(self, connected: bool = False) -> dict[str, Any]:
        row = self._read.execute(
            "SELECT acked_seq, last_ack_at, (SELECT COALESCE(MAX(seq), 0) FROM events) AS last_seq"
            " FROM sync_state").fetchone()
        return {
            "site": self.site, "device": self.device, "last_seq": row["last_seq"],
            "acked_seq": row["acked_seq"], "backlog": row["last_seq"] - row["acked_seq"],
            "connected": connected, "last_ack_at": row["last_ack_at"],
        }

    def last_seq(self) -> int:
        return int(self._read.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0])

    def set_acked(self, acked_seq: int) -> bool:
        """Record the hub's cumulative ack; True if it moved forward."""

        def work(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                "UPDATE sync_state SET acked_seq = ?, last_ack_at = ? WHERE acked_seq < ?",
                (acked_seq, format_time(utc_now()), acked_seq))
            return cursor.rowcount > 0

        return self.write(work)

    def apply_hub_entry(self, message: dict[str, Any]) -> bool:
        """A supervisor's entry from the hub, applied once by its id; True if it was new."""
        entry_id, incident_id = str(message["id"]), str(message["incident_id"])
        kind, text, by = str(message["kind"]), str(message["text"]), str(message["by"])
        if kind not in {"note", "action", "escalation", "follow_up", "summary", "police_called"}:
            raise ValueError(f"unknown entry kind {kind}")
        if not by.startswith("hub:"):
            raise ValueError("a hub entry must be by hub:USER")

        def work(conn: sqlite3.Connection) -> bool:
            if conn.execute("SELECT 1 FROM incident_entries WHERE id = ?", (entry_id,)).fetchone():
                return False
            if conn.execute("SELECT 1 FROM incidents WHERE id = ?", (incident_id,)).fetchone() \
                    is None:
                return False
            self._append(conn, "incident.entry", entry_id,
                         {"incident_id": incident_id, "kind": kind, "text": text, "by": by})
            return True

        return self.write(work)

    def verify(self) -> tuple[int, int | None]:
        """Check the whole chain: (events checked, first bad seq or None)."""
        return verify_chain(self._read)

    # ---- personal data ----------------------------------------------------------------------

    def purge(self, older_than_days: int, by: Actor = SYSTEM,
              trust_clock: bool = False) -> dict[str, Any]:
        """Remove visitors' personal data past retention, append a `pii.purged` event, and
        checkpoint so the removed bytes leave the WAL as well as the database file.

        Age is judged by the log as well as the wall clock (a Pi has no RTC): see
        `purge_cutoff`. ClockBehind when the clock is behind the newest event.
        `trust_clock`: the clock was checked by a person; judge age by it alone."""
        now = utc_now()
        retention = timedelta(days=older_than_days)
        stamps = [(int(r[0]), parse_time(r[1])) for r in self._read.execute(
            "SELECT seq, at FROM events ORDER BY seq")]
        if stamps and now < stamps[-1][1] - CLOCK_SLACK:
            raise errors.ClockBehind(
                f"the clock ({format_time(now)}) is behind the newest logbook event "
                f"(seq {stamps[-1][0]}, {format_time(stamps[-1][1])}); purge refused: set the "
                "clock, then purge again")
        limit = now - retention if trust_clock else \
            purge_cutoff([at for _, at in stamps], now, retention)
        scanned = stamps[-1][0] if stamps else 0

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            # events appended since the scan are young whatever their stamp says
            newer = conn.execute("SELECT MIN(at) FROM events WHERE seq > ?", (scanned,))\
                .fetchone()[0]
            cutoff = format_time(min(limit, parse_time(newer)) if newer else limit)
            visits = [r["id"] for r in conn.execute(
                "SELECT id FROM visits WHERE checked_in_at < ? AND purged_at IS NULL", (cutoff,))]
            # residents' pre-approvals name the visitor they expect: theirs go too
            seqs = [r["seq"] for r in conn.execute(
                "SELECT seq FROM events WHERE type = 'preapproval.created' AND at < ?"
                " AND pii IS NOT NULL", (cutoff,))]
            if not visits and not seqs:
                return {"visits": 0, "events": 0, "cutoff": cutoff}
            marks = ",".join("?" * len(visits))
            seqs = sorted(seqs + [r["seq"] for r in conn.execute(
                f"SELECT seq FROM events WHERE record_id IN ({marks}) AND pii IS NOT NULL",
                visits)])
            self._append(conn, "pii.purged", new_id(), {
                "older_than": cutoff, "seqs": seqs, "visits": len(visits), "by": by.ref})
            conn.execute("UPDATE preapprovals SET visitor_name = NULL WHERE created_at < ?",
                         (cutoff,))
            return {"visits": len(visits), "events": len(seqs), "cutoff": cutoff}

        removed = self.write(work)
        if removed["events"]:
            self.checkpoint()
        return removed

    def clock_problem(self) -> dict[str, Any] | None:
        """What the tablet warns about the post's clock: `behind` the newest event (certainly
        wrong), or `ahead`: more than a day past it (a jump, or a post idle that long)."""
        row = self._read.execute("SELECT at FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        if row is None:
            return None
        now, last = utc_now(), parse_time(row[0])
        if now < last - CLOCK_SLACK:
            return {"problem": "behind", "days": (last - now).days, "last_at": row[0]}
        if now - last > MAX_LOG_STEP:
            return {"problem": "ahead", "days": (now - last).days, "last_at": row[0]}
        return None

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
            for _ in range(100):
                busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
                if not busy:
                    return
                threading.Event().wait(0.05)
        finally:
            conn.close()
        log.warning("WAL checkpoint stayed busy; removed bytes leave the WAL at the next one")

    # ---- units ------------------------------------------------------------------------------

    def import_units(self, rows: list[dict[str, str]]) -> tuple[int, int]:
        """Upsert the directory; (added, updated)."""

        def work(conn: sqlite3.Connection) -> tuple[int, int]:
            added = updated = 0
            now = format_time(utc_now())
            for row in rows:
                exists = conn.execute("SELECT 1 FROM units WHERE unit = ?", (row["unit"],)) \
                    .fetchone()
                conn.execute(
                    "INSERT INTO units (unit, intercom, residents, updated_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (unit) DO UPDATE SET intercom = excluded.intercom,"
                    " residents = excluded.residents, updated_at = excluded.updated_at",
                    (row["unit"], row.get("intercom") or None, row.get("residents") or None, now))
                if exists:
                    updated += 1
                else:
                    added += 1
            return added, updated

        return self.write(work)

    def list_units(self, prefix: str = "", limit: int = 20) -> list[dict[str, Any]]:
        rows = self._read.execute(
            "SELECT unit, intercom, residents FROM units WHERE unit LIKE ? ESCAPE '\\'"
            " OR residents LIKE ? ESCAPE '\\' ORDER BY unit LIMIT ?",
            (_like(prefix) + "%", "%" + _like(prefix) + "%", limit))
        return [dict(r) for r in rows]

    # ---- guards, keys, sessions (auth.py holds the crypto, this the rows) ------------------

    def add_guard(self, badge: str, name: str, role: str, pin_hash: str,
                  end_sessions: bool = False) -> tuple[bool, int]:
        """Insert or replace a guard: (True if new, how many sessions ended). `end_sessions`:
        a new PIN or role, so the guard's open sessions end in the same transaction."""

        def work(conn: sqlite3.Connection) -> tuple[bool, int]:
            exists = conn.execute("SELECT 1 FROM guards WHERE badge = ?", (badge,)).fetchone()
            conn.execute(
                "INSERT INTO guards (badge, name, role, pin_hash, created_at)"
                " VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (badge) DO UPDATE SET name = excluded.name, role = excluded.role,"
                " pin_hash = excluded.pin_hash",
                (badge, name, role, pin_hash, format_time(utc_now())))
            ended = conn.execute(
                "UPDATE sessions SET revoked_at = ? WHERE badge = ? AND revoked_at IS NULL",
                (format_time(utc_now()), badge)).rowcount if end_sessions else 0
            return exists is None, ended

        return self.write(work)

    def get_guard(self, badge: str) -> dict[str, Any] | None:
        row = self._read.execute("SELECT * FROM guards WHERE badge = ?", (badge,)).fetchone()
        return dict(row) if row else None

    def add_api_key(self, key_id: str, name: str, scope: str, key_hash: str) -> None:
        self.write(lambda conn: conn.execute(
            "INSERT INTO api_keys (id, name, scope, key_hash, created_at) VALUES (?, ?, ?, ?, ?)",
            (key_id, name, scope, key_hash, format_time(utc_now()))))

    def find_api_key(self, key_hash: str) -> dict[str, Any] | None:
        row = self._read.execute(
            "SELECT * FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL", (key_hash,)
        ).fetchone()
        return dict(row) if row else None

    def recent_failures(self, badge: str, since: str) -> int:
        row = self._read.execute(
            "SELECT COUNT(*) FROM login_failures WHERE badge = ? AND at >= ?", (badge, since)
        ).fetchone()
        return int(row[0])

    def reserve_login_attempt(self, badge: str, since: str, limit: int) -> int | None:
        """Count a login for `badge` as failed before its PIN is checked, in the writer's
        transaction, so however many logins run at once at most `limit` are checked per
        window: the reservation's rowid, or None (nothing stored) when `limit` failures since
        `since` are already there. Failures older than `since` are dropped here, so the table
        holds one window at most."""

        def work(conn: sqlite3.Connection) -> int | None:
            conn.execute("DELETE FROM login_failures WHERE at < ?", (since,))
            (failures,) = conn.execute(
                "SELECT COUNT(*) FROM login_failures WHERE badge = ? AND at >= ?",
                (badge, since)).fetchone()
            if failures >= limit:
                return None
            cursor = conn.execute("INSERT INTO login_failures (badge, at) VALUES (?, ?)",
                                  (badge, format_time(utc_now())))
            return cursor.lastrowid

        return self.write(work)

    def login_succeeded(self, badge: str, token_hash: str, expires_at: str) -> None:
        """The PIN was right: the badge's failures (its reservation too) go, the session
        starts, in one transaction."""

        def work(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM login_failures WHERE badge = ?", (badge,))
            conn.execute("INSERT INTO sessions (token_hash, badge, created_at, expires_at)"
                         " VALUES (?, ?, ?, ?)", (token_hash, badge, format_time(utc_now()),
                                                   expires_at))

        self.write(work)

    def add_session(self, token_hash: str, badge: str, expires_at: str) -> None:
        self.write(lambda conn: conn.execute(
            "INSERT INTO sessions (token_hash, badge, created_at, expires_at) VALUES (?, ?, ?, ?)",
            (token_hash, badge, format_time(utc_now()), expires_at)))

    def find_session(self, token_hash: str) -> dict[str, Any] | None:
        row = self._read.execute(
            "SELECT s.badge, s.expires_at, g.name, g.role FROM sessions s"
            " JOIN guards g ON g.badge = s.badge"
            " WHERE s.token_hash = ? AND s.revoked_at IS NULL AND s.expires_at > ?",
            (token_hash, format_time(utc_now()))).fetchone()
        return dict(row) if row else None

    def revoke_session(self, token_hash: str) -> None:
        self.write(lambda conn: conn.execute(
            "UPDATE sessions SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL",
            (format_time(utc_now()), token_hash)))

    def revoke_guard_sessions(self, badge: str) -> int:
        def work(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(
                "UPDATE sessions SET revoked_at = ? WHERE badge = ? AND revoked_at IS NULL",
                (format_time(utc_now()), badge))
            return cursor.rowcount

        return self.write(work)

    def sessions_version(self) -> int:
        """A number that changes whenever any other connection commits: this process's writer,
        or a CLI in another process (a new PIN). A session cached before it changed may have
        ended since, so `Auth` drops its cache then; a cheap check (no table is read)."""
        conn: sqlite3.Connection | None = getattr(self, "_version_conn", None)
        if conn is None:
            with self._readers_lock:
                conn = getattr(self, "_version_conn", None)
                if conn is None:
                    conn = connect(self.path)
                    self._readers.append(conn)  # closed with the readers
                    self._version_lock = threading.Lock()
                    self._version_conn = conn
        with self._version_lock:
            return int(conn.execute("PRAGMA data_version").fetchone()[0])


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
                events.append(_event_out(row))
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


def apply_projection(conn: sqlite3.Connection, event: dict[str, Any]) -> None:
    """Apply one event's changes (`schemas.projection`) inside the event's transaction."""
    for change in changes(event):
        if isinstance(change, Insert):
            row = {**change.row, "seq": event["seq"]} if change.table in _WITH_SEQ \
                else change.row
            conn.execute(f"INSERT INTO {change.table} ({', '.join(row)})"
                         f" VALUES ({', '.join('?' * len(row))})", tuple(row.values()))
        elif isinstance(change, Update):
            conn.execute(f"UPDATE {change.table} SET {', '.join(f'{c} = ?' for c in change.values)}"
                         " WHERE id = ?", (*change.values.values(), change.id))
        else:
            for start in range(0, len(change.seqs), 500):
                chunk = change.seqs[start:start + 500]
                conn.execute(f"UPDATE events SET pii = NULL WHERE seq IN"
                             f" ({','.join('?' * len(chunk))})", chunk)
            cleared = ", ".join(f"{f} = NULL" for f in (*PURGED_VISIT_FIELDS, "id_hmac"))
            conn.execute(f"UPDATE visits SET {cleared}, purged_at = ?"
                         " WHERE checked_in_at < ? AND purged_at IS NULL",
                         (change.at, change.older_than))


def _entry_out(row: sqlite3.Row) -> dict[str, Any]:
    entry = dict(row)
    entry.pop("seq", None)
    return entry


def _event_out(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "seq": row["seq"], "id": row["id"], "type": row["type"], "at": row["at"],
        "record_id": row["record_id"], "data": json.loads(row["data"]),
        "pii": json.loads(row["pii"]) if row["pii"] is not None else None,
        "pii_digest": row["pii_digest"], "prev_hash": row["prev_hash"], "hash": row["hash"],
    }


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@contextmanager
def opened(data: Path, **kwargs: Any) -> Iterator[Logbook]:
    """A Logbook that is closed afterwards (for the CLI)."""
    book = Logbook(data, **kwargs)
    try:
        yield book
    finally:
        book.close()
