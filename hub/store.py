"""The hub's store: all of the hub's SQL.

Events arrive per device in batches. `ingest` stores each `(site, device, seq)` once, applies a
device's events strictly in seq order, never acks past a gap, checks every batch against the hash
chain it already holds, and rejects (stores nothing of, marks the device tampered) a batch that
does not link. Projections are built per site in the same transaction. Keep SQL here and nowhere
else, so that moving the hub to PostgreSQL is a change of this module.
"""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from schemas.canonical import GENESIS_HASH, canonical_json, canonical_text, chain_break
from schemas.ids import format_time, new_id, parse_time, utc_now
from schemas.messages import StatusIn, UnreadableMessage
from schemas.models import EVENT_DATA
from schemas.privacy import key_id, mask_id_numbers
from schemas.projection import (
    PURGED_VISIT_FIELDS,
    Insert,
    Purge,
    Update,
    changes,
    logbook_line,
    summarise,
)

log = logging.getLogger(__name__)

DB_FILE = "hub.db"

SCHEMA_TEMPLATE = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    sites TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS login_failures (username TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS login_failures_user ON login_failures (username, at);
CREATE TABLE IF NOT EXISTS devices (
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    mqtt_username TEXT UNIQUE,
    mqtt_hash TEXT,
    provisioned_at TEXT,
    acked_seq INTEGER NOT NULL DEFAULT 0,
    last_hash TEXT NOT NULL DEFAULT '{GENESIS}',
    last_seen TEXT,
    online INTEGER NOT NULL DEFAULT 0,
    reported_last_seq INTEGER NOT NULL DEFAULT 0,
    clock_offset_s REAL,
    version TEXT,
    tampered INTEGER NOT NULL DEFAULT 0,
    tampered_at TEXT,
    tampered_reason TEXT,
    PRIMARY KEY (site, device)
);
CREATE TABLE IF NOT EXISTS events (
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    seq INTEGER NOT NULL,
    id TEXT NOT NULL,
    type TEXT NOT NULL,
    at TEXT NOT NULL,
    record_id TEXT NOT NULL,
    data TEXT NOT NULL,
    pii TEXT,
    pii_digest TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (site, device, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_site_at ON events (site, at);
CREATE TABLE IF NOT EXISTS pending_purges (
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (site, device, seq)
);
CREATE TABLE IF NOT EXISTS visits (
    id TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    visitor_name TEXT,
    id_number_masked TEXT,
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
    request_id TEXT,
    answered_at TEXT,
    purged_at TEXT,
    flag TEXT
);
CREATE INDEX IF NOT EXISTS visits_site_in ON visits (site, checked_in_at);
CREATE TABLE IF NOT EXISTS door_events (
    id TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    door TEXT NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT,
    visit_id TEXT,
    occurred_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    guard TEXT,
    api_key TEXT
);
CREATE INDEX IF NOT EXISTS door_events_site_at ON door_events (site, occurred_at);
CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    device TEXT NOT NULL,
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
    guard TEXT,
    acknowledged_at TEXT,
    resolved_at TEXT
);
CREATE INDEX IF NOT EXISTS incidents_site ON incidents (site, status);
CREATE INDEX IF NOT EXISTS incidents_opened ON incidents (site, opened_at);
CREATE TABLE IF NOT EXISTS incident_entries (
    id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL,
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    at TEXT NOT NULL,
    guard TEXT,
    author TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_incident ON incident_entries (incident_id, at);
CREATE TABLE IF NOT EXISTS shift_notes (
    id TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    text TEXT NOT NULL,
    at TEXT NOT NULL,
    guard TEXT
);
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    delivered_at TEXT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (delivered_at, site, device);
CREATE TABLE IF NOT EXISTS watchlist (
    id TEXT PRIMARY KEY,
    id_hmac TEXT,
    id_number_masked TEXT,
    name TEXT,
    reason TEXT NOT NULL,
    severity TEXT NOT NULL,
    created_at TEXT NOT NULL,
    by TEXT NOT NULL,
    removed_at TEXT
);
CREATE TABLE IF NOT EXISTS notify_rules (
    id TEXT PRIMARY KEY,
    severity TEXT NOT NULL,
    site TEXT,
    events TEXT NOT NULL,
    url TEXT NOT NULL,
    shown_url TEXT NOT NULL,
    created_at TEXT NOT NULL,
    by TEXT NOT NULL,
    removed_at TEXT
);
CREATE TABLE IF NOT EXISTS notifications (
    incident_id TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    PRIMARY KEY (incident_id, rule_id, kind)
);
CREATE TABLE IF NOT EXISTS search_lines (
    id INTEGER PRIMARY KEY,
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at TEXT NOT NULL,
    type TEXT NOT NULL,
    summary TEXT NOT NULL,
    UNIQUE (site, device, seq)
);
CREATE INDEX IF NOT EXISTS search_lines_at ON search_lines (site, at);
CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(
    summary, content='search_lines', content_rowid='id', tokenize='trigram');
CREATE TRIGGER IF NOT EXISTS search_lines_ai AFTER INSERT ON search_lines BEGIN
    INSERT INTO search_fts (rowid, summary) VALUES (new.id, new.summary);
END;
CREATE TRIGGER IF NOT EXISTS search_lines_au AFTER UPDATE OF summary ON search_lines BEGIN
    INSERT INTO search_fts (search_fts, rowid, summary) VALUES ('delete', old.id, old.summary);
    INSERT INTO search_fts (rowid, summary) VALUES (new.id, new.summary);
END;
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    username TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS device_status_log (
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    at TEXT NOT NULL,
    online INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS device_status_log_at ON device_status_log (site, device, at);
CREATE TABLE IF NOT EXISTS watchlist_sent (
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (site, device)
);
"""
# columns added after a table was first created: (table, column, type, and the statement that
# fills it in for the rows already there, one pass over the events, not one per row)
_FIRST_STATUS = (
    "UPDATE incidents SET {status}_at = first.at FROM (SELECT record_id, MIN(at) AS at"
    " FROM events WHERE type = 'incident.status' AND json_extract(data, '$.status') ="
    " '{status}' GROUP BY record_id) AS first WHERE incidents.id = first.record_id")
ADDED_COLUMNS = [
    ("visits", "flag", "TEXT", None),
    ("incidents", "acknowledged_at", "TEXT", _FIRST_STATUS.format(status="acknowledged")),
    ("incidents", "resolved_at", "TEXT", _FIRST_STATUS.format(status="resolved")),
]
# the statuses whose first time the hub keeps on the incident (the reports' response times)
MILESTONES = ("acknowledged", "resolved")
ID_KEY_FILE = "id-hmac.key"
SCHEMA = SCHEMA_TEMPLATE.replace("{GENESIS}", GENESIS_HASH)


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    # the edge keeps every event until it is acked, and the hub acks only after COMMIT, so a
    # hub crash can lose nothing the edge does not still hold; NORMAL is enough here
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA secure_delete=ON")
    return conn


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
    """Create what is missing: tables, indexes, and columns added since a table was made."""
    conn.executescript(SCHEMA)
    for table, column, kind, fill in ADDED_COLUMNS:
        have = {r["name"] for r in conn.execute(f"PRAGMA table_info({table})")}
        if column not in have:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            if fill:
                conn.execute(fill)


@dataclass
class BatchResult:
    """What ingesting one batch did: the ack to send, and why nothing was stored if so."""

    site: str
    device: str
    acked_seq: int
    stored: int
    rejected: str | None = None
    purged: bool = False  # it held a purge: checkpoint so the removed bytes leave the WAL


class Store:
    """The hub's database. Reads on per-thread connections; ingest on one writer connection."""

    def __init__(self, data: Path, zone: ZoneInfo | None = None) -> None:
        if not is_initialised(data):
            raise FileNotFoundError(f"{data} is not initialised")
        self.path = data / DB_FILE
        self.zone = zone or ZoneInfo("Asia/Hong_Kong")
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._writer = connect(self.path)
        create_schema(self._writer)
        self._backfill_search()
        self._all: list[sqlite3.Connection] = [self._writer]

    def _backfill_search(self) -> None:
        """A hub made before logbook search: index what it holds, once."""
        if self._writer.execute("SELECT 1 FROM search_lines LIMIT 1").fetchone() or \
                not self._writer.execute("SELECT 1 FROM events LIMIT 1").fetchone():
            return
        with self.transaction() as conn:
            rows = conn.execute("SELECT site, device, seq, at, type, data, pii FROM events")
            while batch := rows.fetchmany(5000):
                conn.executemany(
                    "INSERT OR IGNORE INTO search_lines (site, device, seq, at, type, summary)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [(r["site"], r["device"], r["seq"], r["at"], r["type"],
                      summarise(r["type"], json.loads(r["data"]),
                                json.loads(r["pii"]) if r["pii"] else None)) for r in batch])

    def close(self) -> None:
        for conn in self._all:
            conn.close()

    @property
    def _read(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            self._local.conn = conn
            self._all.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._write_lock:
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
                self._writer.execute("COMMIT")
            except BaseException:
                # a full disk or an I/O error may have rolled back already: then ROLLBACK would
                # raise "no transaction is active" over the error that matters
                if self._writer.in_transaction:
                    self._writer.execute("ROLLBACK")
                raise

    # ---- ingest -----------------------------------------------------------------------------

    def ingest(self, batches: list[tuple[str, str, Any]], *,
               purge_before: str | None = None) -> list[BatchResult]:
        """Ingest several `(site, device, payload)` batches in one transaction; the results say
        what to ack. Acks must be sent only after this returns (the commit).

        Each batch has its own savepoint: one that cannot be applied is rejected alone (its
        device flagged) and the others commit. A failure of the database itself (full disk, I/O)
        raises: nothing of the group is kept or acked, and the posts resend it.
        `purge_before`: a purge never clears personal data of records at or after this time
        (the hub's clock minus its minimum retention)."""
        results: list[BatchResult] = []
        now = format_time(utc_now())
        with self.transaction() as conn:
            for site, device, payload in batches:
                conn.execute("SAVEPOINT batch")
                try:
                    result = self._ingest_one(conn, site, device, payload, now, purge_before)
                except Exception as exc:
                    if is_database_failure(exc):
                        raise
                    conn.execute("ROLLBACK TO batch")
                    conn.execute("RELEASE batch")
                    reason = f"batch could not be applied ({type(exc).__name__})"
                    results.append(self._reject(conn, site, device, now, reason))
                    continue
                conn.execute("RELEASE batch")
                results.append(result)
        return results

    def apply_pending_purges(self, purge_before: str) -> int:
        """Apply again the purges that spared records younger than the hub's retention, now
        that time has passed; returns how many are complete."""
        if not self._read.execute("SELECT 1 FROM pending_purges LIMIT 1").fetchone():
            return 0
        with self.transaction() as conn:
            pending = conn.execute(
                "SELECT p.site, p.device, p.seq, e.at, e.data FROM pending_purges p JOIN events e"
                " USING (site, device, seq)").fetchall()
            done = 0
            for row in pending:
                data = json.loads(row["data"])
                change = Purge(list(data["seqs"]), data["older_than"], row["at"])
                if _apply_purge(conn, row["site"], row["device"], change, purge_before):
                    conn.execute("DELETE FROM pending_purges WHERE site = ? AND device = ? AND"
                                 " seq = ?", (row["site"], row["device"], row["seq"]))
                    done += 1
        return done

    def checkpoint(self) -> bool:
        """Copy the WAL into the database and truncate it, so purged bytes leave the WAL too."""
        with self._write_lock:
            busy = self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        return not busy

    def _reject(self, conn: sqlite3.Connection, site: str, device: str, now: str,
                reason: str) -> BatchResult:
        """Store nothing of a batch, log why (never its content), and flag its device."""
        acked = self._device_row(conn, site, device)["acked_seq"]
        log.warning("batch rejected", extra={"site": site, "device": device,
                                             "reason": reason, "acked_seq": acked})
        self._flag(conn, site, device, now, reason)
        return BatchResult(site, device, acked, 0, reason)

    def _flag(self, conn: sqlite3.Connection, site: str, device: str, now: str,
              reason: str) -> None:
        """Mark a device `tampered` (shown on `/devices` and the overview) with the reason."""
        self._device_row(conn, site, device)
        conn.execute(
            "UPDATE devices SET tampered = 1, tampered_at = ?, tampered_reason = ?"
            " WHERE site = ? AND device = ?", (now, reason[:300], site, device))

    def flag_device(self, site: str, device: str, reason: str) -> None:
        """Flag a device outside ingest (an unreadable status message)."""
        with self.transaction() as conn:
            self._flag(conn, site, device, format_time(utc_now()), reason)

    def _ingest_one(
        self, conn: sqlite3.Connection, site: str, device: str, payload: Any, now: str,
        purge_before: str | None = None,
    ) -> BatchResult:
        row = self._device_row(conn, site, device)
        acked, last_hash = row["acked_seq"], row["last_hash"]
        conn.execute("UPDATE devices SET last_seen = ? WHERE site = ? AND device = ?",
                     (now, site, device))

        def reject(reason: str) -> BatchResult:
            return self._reject(conn, site, device, now, reason)

        if isinstance(payload, UnreadableMessage):
            return reject(f"unreadable batch: {payload}")
        if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
            return reject("malformed batch")
        if (payload.get("site"), payload.get("device")) != (site, device):
            return reject("batch names another site or device than its topic")
        events = payload["events"]
        problem = next((p for p in map(_malformed, events) if p), None)
        if problem:
            return reject(f"malformed event: {problem}")
        seqs = [e["seq"] for e in events]
        if seqs != sorted(set(seqs)):
            return reject("events out of seq order")
        old = [e for e in events if e["seq"] <= acked]
        if old:
            stored = dict(conn.execute(
                f"SELECT seq, hash FROM events WHERE site = ? AND device = ? AND seq IN"
                f" ({','.join('?' * len(old))})", (site, device, *[e["seq"] for e in old])
            ).fetchall())
            for event in old:
                if stored.get(event["seq"]) not in (None, event["hash"]):
                    return reject(f"seq {event['seq']} differs from the stored event")
        new = [e for e in events if e["seq"] > acked]
        if not new:
            return BatchResult(site, device, acked, 0)  # a duplicate: ack again, change nothing
        if new[0]["seq"] != acked + 1:
            # a gap: something before this batch is missing; wait for the edge to resend it
            return BatchResult(site, device, acked, 0)
        data_texts = [canonical_text(e["data"]) for e in new]
        pii_texts = [None if e.get("pii") is None else canonical_text(e["pii"]) for e in new]
        bad = chain_break(new, last_hash, acked, data_texts, pii_texts)
        if bad is not None:
            return reject(f"chain does not link at seq {bad}")
        conn.executemany(
            "INSERT INTO events (site, device, seq, id, type, at, record_id, data, pii,"
            " pii_digest, prev_hash, hash, received_at) VALUES"
            " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(site, device, e["seq"], e["id"], e["type"], e["at"], e["record_id"],
              data_text, pii_text, e.get("pii_digest"), e["prev_hash"], e["hash"], now)
             for e, data_text, pii_text in zip(new, data_texts, pii_texts, strict=True)])
        for event in new:
            if apply_projection(conn, site, device, event, purge_before) == "deferred":
                conn.execute("INSERT OR IGNORE INTO pending_purges VALUES (?, ?, ?)",
                             (site, device, event["seq"]))
                log.warning("purge of records younger than the hub's retention deferred",
                            extra={"site": site, "device": device, "seq": event["seq"]})
                self._flag(conn, site, device, now, "purge of records younger than retention:"
                           f" applied to records before {purge_before} only")
        conn.executemany(  # the lines logbook search finds (FTS5 trigram: Chinese too)
            "INSERT OR IGNORE INTO search_lines (site, device, seq, at, type, summary)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(site, device, e["seq"], e["at"], e["type"],
              summarise(e["type"], e["data"], e.get("pii"))) for e in new])
        acked, last_hash = new[-1]["seq"], new[-1]["hash"]
        conn.execute("UPDATE devices SET acked_seq = ?, last_hash = ? WHERE site = ? AND"
                     " device = ?", (acked, last_hash, site, device))
        return BatchResult(site, device, acked, len(new),
                           purged=any(e["type"] == "pii.purged" for e in new))

    def _device_row(self, conn: sqlite3.Connection, site: str, device: str) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM devices WHERE site = ? AND device = ?",
                           (site, device)).fetchone()
        if row is None:
            conn.execute("INSERT INTO devices (site, device) VALUES (?, ?)", (site, device))
            row = conn.execute("SELECT * FROM devices WHERE site = ? AND device = ?",
                               (site, device)).fetchone()
        return row  # type: ignore[no-any-return]

    def record_status(self, site: str, device: str, status: StatusIn) -> None:
        """A device's retained status (read by `schemas.messages.read_status`): online, how far
        it is, and its clock offset."""
        now = utc_now()
        offset = None
        if status.clock is not None:
            offset = round((parse_time(status.clock) - now).total_seconds(), 3)
        with self.transaction() as conn:
            self._device_row(conn, site, device)
            online = 1 if status.online else 0
            last = conn.execute("SELECT online FROM device_status_log WHERE site = ? AND"
                                " device = ? ORDER BY at DESC LIMIT 1", (site, device)).fetchone()
            if last is None or last["online"] != online:  # the history uptime is counted from
                conn.execute("INSERT INTO device_status_log VALUES (?, ?, ?, ?)",
                             (site, device, format_time(now), online))
            conn.execute(
                "UPDATE devices SET online = ?, reported_last_seq = MAX(reported_last_seq, ?),"
                " clock_offset_s = COALESCE(?, clock_offset_s), version = ?, last_seen = ?"
                " WHERE site = ? AND device = ?",
                (online, status.last_seq, offset, status.version, format_time(now), site, device))

    # ---- devices and MQTT accounts ----------------------------------------------------------

    def provision_device(self, site: str, device: str, username: str, mqtt_hash: str) -> None:
        with self.transaction() as conn:
            self._device_row(conn, site, device)
            conn.execute(
                "UPDATE devices SET mqtt_username = ?, mqtt_hash = ?, provisioned_at = ?"
                " WHERE site = ? AND device = ?",
                (username, mqtt_hash, format_time(utc_now()), site, device))

    def mqtt_accounts(self) -> list[dict[str, Any]]:
        rows = self._read.execute(
            "SELECT site, device, mqtt_username, mqtt_hash FROM devices"
            " WHERE mqtt_username IS NOT NULL ORDER BY site, device")
        return [dict(r) for r in rows]

    def get_meta(self, key: str) -> str | None:
        row = self._read.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def list_devices(self, sites: list[str] | None) -> list[dict[str, Any]]:
        rows = self._read.execute("SELECT * FROM devices ORDER BY site, device").fetchall()
        return [
            {"site": r["site"], "device": r["device"], "online": bool(r["online"]),
             "last_seen": r["last_seen"], "acked_seq": r["acked_seq"],
             "backlog": max(0, r["reported_last_seq"] - r["acked_seq"]),
             "clock_offset_s": r["clock_offset_s"], "tampered": bool(r["tampered"]),
             "tampered_reason": r["tampered_reason"]}
            for r in rows if sites is None or r["site"] in sites
        ]

    # ---- reads for the API ------------------------------------------------------------------

    def live_version(self, sites: list[str] | None) -> str:
        """Changes whenever something a dashboard shows does: events, acks, a device going
        on- or offline or being marked tampered, an entry made at the hub."""
        sql, args = ("SELECT COUNT(*), COALESCE(SUM(acked_seq), 0), COALESCE(SUM(online), 0),"
                     " COALESCE(SUM(tampered), 0), COALESCE(SUM(reported_last_seq), 0)"
                     " FROM devices WHERE 1=1", list[Any]())
        sql, args = _site_filter(sql, args, sites)
        row = self._read.execute(sql, args).fetchone()
        entries = self._read.execute("SELECT COUNT(*) FROM incident_entries").fetchone()[0]
        return ":".join(str(v) for v in (*tuple(row), entries))

    def count_events(self) -> int:
        return int(self._read.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def day_bounds(self, day: date) -> tuple[str, str]:
        start = datetime(day.year, day.month, day.day, tzinfo=self.zone)
        return format_time(start), format_time(start + timedelta(days=1))

    def list_visits(self, sites: list[str] | None, *, on_site: bool | None = None,
                    day: date | None = None) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM visits WHERE 1=1", list[Any]()
        sql, args = _site_filter(sql, args, sites)
        if on_site is True:
            sql += " AND checked_out_at IS NULL"
        elif on_site is False:
            sql += " AND checked_out_at IS NOT NULL"
        if day is not None:
            sql += " AND checked_in_at >= ? AND checked_in_at < ?"
            args += list(self.day_bounds(day))
        rows = self._read.execute(sql + " ORDER BY checked_in_at DESC, id DESC", args)
        return [_visit_out(r) for r in rows]

    def list_incidents(self, sites: list[str] | None, *, status: str | None = None,
                       severity: str | None = None, overdue: bool | None = None
                       ) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM incidents WHERE 1=1", list[Any]()
        sql, args = _site_filter(sql, args, sites)
        if status:
            sql += " AND status = ?"
            args.append(status)
        if severity:
            sql += " AND severity = ?"
            args.append(severity)
        rows = self._read.execute(sql + " ORDER BY opened_at DESC, id DESC", args)
        incidents = [_incident_out(r) for r in rows]
        if overdue is not None:
            incidents = [i for i in incidents if i["overdue"] is overdue]
        return incidents

    def get_incident(self, incident_id: str) -> dict[str, Any] | None:
        row = self._read.execute("SELECT * FROM incidents WHERE id = ?", (incident_id,)).fetchone()
        if row is None:
            return None
        incident = _incident_out(row)
        incident["entries"] = [
            _entry_out(e) for e in self._read.execute(
                "SELECT * FROM incident_entries WHERE incident_id = ? ORDER BY at, id",
                (incident_id,))]
        return incident

    def logbook(self, site: str, day: date, raw: bool = False) -> list[dict[str, Any]]:
        """A site's day across its posts; `raw` adds each event's `data` and `pii`."""
        start, end = self.day_bounds(day)
        rows = self._read.execute(
            "SELECT device, seq, at, type, record_id, data, pii FROM events"
            " WHERE site = ? AND at >= ? AND at < ? ORDER BY at, device, seq", (site, start, end))
        return [{"device": r["device"], **logbook_line(r, raw)} for r in rows]

    # ---- hub -> edge ------------------------------------------------------------------------

    def add_hub_entry(self, incident: dict[str, Any], entry: dict[str, Any],
                      payload: dict[str, Any]) -> None:
        """A supervisor's entry: shown at once at the hub, queued for the incident's edge."""
        with self.transaction() as conn:
            self._insert_hub_entry(conn, incident, entry, payload)

    def _insert_hub_entry(self, conn: sqlite3.Connection, incident: dict[str, Any],
                          entry: dict[str, Any], payload: dict[str, Any]) -> None:
        conn.execute(
            "INSERT INTO incident_entries (id, incident_id, site, device, kind, text, at,"
            " guard, author) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)",
            (entry["id"], incident["id"], incident["site"], incident["device"],
             entry["kind"], entry["text"], entry["at"], entry["author"]))
        conn.execute(
            "INSERT INTO outbox (id, site, device, payload, created_at) VALUES (?, ?, ?, ?, ?)",
            (entry["id"], incident["site"], incident["device"],
             canonical_json(payload).decode(), entry["at"]))

    def pending_down(self, site: str | None = None, device: str | None = None
                     ) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM outbox WHERE delivered_at IS NULL", []
        if site:
            sql += " AND site = ?"
            args.append(site)
        if device:
            sql += " AND device = ?"
            args.append(device)
        rows = self._read.execute(sql + " ORDER BY created_at, id", args)
        return [{"id": r["id"], "site": r["site"], "device": r["device"],
                 "payload": json.loads(r["payload"])} for r in rows]

    # ---- the watch list ----------------------------------------------------------------------

    @property
    def id_key(self) -> bytes:
        """The company's ID-number HMAC key (`provision-device` hands it to each post)."""
        key_file = self.path.parent / ID_KEY_FILE
        if not key_file.exists():  # a hub initialised before the watch list existed
            key_file.touch(mode=0o600)
            key_file.write_bytes(secrets.token_bytes(32))
        return key_file.read_bytes()

    def add_watch_entry(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Add an entry (its ID number already reduced to HMAC and mask) and queue the new
        version of the list for every post."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO watchlist (id, id_hmac, id_number_masked, name, reason, severity,"
                " created_at, by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (entry["id"], entry["id_hmac"], entry["id_number_masked"], entry["name"],
                 entry["reason"], entry["severity"], entry["created_at"], entry["by"]))
            self._bump_watchlist(conn)
        return entry

    def remove_watch_entry(self, entry_id: str) -> bool:
        with self.transaction() as conn:
            cursor = conn.execute("UPDATE watchlist SET removed_at = ? WHERE id = ? AND"
                                  " removed_at IS NULL", (format_time(utc_now()), entry_id))
            if cursor.rowcount:
                self._bump_watchlist(conn)
            return cursor.rowcount > 0

    def watchlist(self, conn: sqlite3.Connection | None = None) -> dict[str, Any]:
        conn = conn or self._read
        version = conn.execute("SELECT value FROM meta WHERE key = 'watchlist_version'") \
            .fetchone()
        rows = conn.execute("SELECT id, id_hmac, id_number_masked, name, reason, severity,"
                            " created_at, by FROM watchlist WHERE removed_at IS NULL"
                            " ORDER BY created_at, id")
        return {"version": int(version[0]) if version else 0, "entries": [dict(r) for r in rows]}

    def _bump_watchlist(self, conn: sqlite3.Connection) -> None:
        version = self.watchlist(conn)["version"] + 1
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('watchlist_version', ?)",
                     (str(version),))
        for row in conn.execute("SELECT site, device FROM devices").fetchall():
            self._queue_watchlist(conn, row["site"], row["device"])

    def queue_watchlist(self, site: str, device: str) -> None:
        """Make sure a post has the current list on its way (a new post, or one that was away
        for several versions)."""
        with self.transaction() as conn:
            self._queue_watchlist(conn, site, device)

    def _queue_watchlist(self, conn: sqlite3.Connection, site: str, device: str) -> None:
        current = self.watchlist(conn)
        sent = conn.execute("SELECT version FROM watchlist_sent WHERE site = ? AND device = ?",
                            (site, device)).fetchone()
        if current["version"] == 0 or (sent and sent["version"] >= current["version"]):
            return
        now = format_time(utc_now())
        # an older version still on its way is of no use any more
        conn.execute("UPDATE outbox SET delivered_at = ? WHERE site = ? AND device = ? AND"
                     " delivered_at IS NULL AND json_extract(payload, '$.type') = 'watchlist'",
                     (now, site, device))
        message_id = new_id()
        payload = {"type": "watchlist", "id": message_id, "site": site, "device": device,
                   "version": current["version"], "key_id": key_id(self.id_key),
                   "entries": [{k: e[k] for k in ("id", "id_hmac", "name", "reason", "severity")}
                               for e in current["entries"]]}
        conn.execute("INSERT INTO outbox (id, site, device, payload, created_at) VALUES"
                     " (?, ?, ?, ?, ?)", (message_id, site, device,
                                          canonical_json(payload).decode(), now))
        conn.execute("INSERT OR REPLACE INTO watchlist_sent (site, device, version) VALUES"
                     " (?, ?, ?)", (site, device, current["version"]))

    # ---- reports ----------------------------------------------------------------------------

    def report_rows(self, sites: list[str] | None, start: str, end: str, *,
                    visits: bool = True) -> dict[str, Any]:
        """What the daily and monthly reports count, for [start, end): visits by category
        (and each visit, if `visits`), door events by kind and the guard's overrides, and the
        incidents opened, each with when it was first acknowledged and resolved and the kinds
        of its timeline entries. The counting is done here, in SQL, so that a month of the
        whole company does not travel through Python row by row."""
        where, args = _site_filter("WHERE 1=1", [], sites)

        def rows(sql: str, column: str, tail: str = "") -> list[sqlite3.Row]:
            return self._read.execute(f"{sql} {where} AND {column} >= ? AND {column} < ? {tail}",
                                      (*args, start, end)).fetchall()

        by_category = {r["category"]: r["n"] for r in rows(
            "SELECT category, COUNT(*) AS n FROM visits", "checked_in_at", "GROUP BY category")}
        door_counts = {r["kind"]: r["n"] for r in rows(
            "SELECT kind, COUNT(*) AS n FROM door_events", "occurred_at", "GROUP BY kind")}
        overrides = [dict(r) for r in rows(
            "SELECT * FROM door_events", "occurred_at",
            "AND kind = 'guard_override' ORDER BY occurred_at")] if visits else []
        incidents = [_incident_out(r, milestones=True) for r in rows(
            "SELECT * FROM incidents", "opened_at", "ORDER BY opened_at")]
        kinds: dict[str, set[str]] = {}
        for row in rows("SELECT DISTINCT incident_id, kind FROM incident_entries WHERE"
                        " incident_id IN (SELECT id FROM incidents", "opened_at", ")"):
            kinds.setdefault(row["incident_id"], set()).add(row["kind"])
        for incident in incidents:
            incident["entry_kinds"] = sorted(kinds.get(incident["id"], set()))
        return {
            "visits": [_visit_out(v) for v in rows("SELECT * FROM visits", "checked_in_at",
                                                   "ORDER BY checked_in_at")] if visits else [],
            "visit_total": sum(by_category.values()), "visits_by_category": by_category,
            "door_counts": door_counts, "overrides": overrides, "incidents": incidents,
        }

    def uptime(self, site: str, device: str, start: str, end: str) -> float | None:
        """The share of [start, end) (up to now; for a new post, from when the hub first heard
        it) the post was connected, from its status changes; None if never heard from."""
        now = format_time(utc_now())
        end = min(end, now)
        rows = self._read.execute(
            "SELECT at, online FROM device_status_log WHERE site = ? AND device = ? AND at < ?"
            " ORDER BY at", (site, device, end)).fetchall()
        before = [r for r in rows if r["at"] < start]
        inside = [r for r in rows if r["at"] >= start]
        state = before[-1]["online"] if before else None
        cursor = start if before else (inside[0]["at"] if inside else None)
        if cursor is None:
            return None
        online_s = 0.0
        for row in inside:
            if state:
                online_s += (parse_time(row["at"]) - parse_time(cursor)).total_seconds()
            state, cursor = row["online"], row["at"]
        if state:
            online_s += (parse_time(end) - parse_time(cursor)).total_seconds()
        # a post that joined during the period is counted from when the hub first heard it
        first = start if before else inside[0]["at"]
        total = (parse_time(end) - parse_time(first)).total_seconds()
        return round(online_s / total, 4) if total > 0 else None

    # ---- search and audit ---------------------------------------------------------------------

    def search(self, sites: list[str] | None, text: str, since: str | None = None,
               until: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """Logbook lines containing `text`, newest first. Three characters or more use the
        trigram index; one or two (a two-character Chinese word) scan the lines instead."""
        sql = "SELECT l.site, l.device, l.seq, l.at, l.type, l.summary FROM search_lines l"
        args: list[Any] = []
        text = text.replace("\x00", "")  # FTS5 ends a query string at a NUL: a 500 before
        if not text:
            return []
        if len(text) >= 3:
            sql += " JOIN search_fts f ON f.rowid = l.id WHERE search_fts MATCH ?"
            args.append('"' + text.replace('"', '""') + '"')
        else:
            sql += " WHERE l.summary LIKE ? ESCAPE '\\'"
            args.append("%" + text.replace("\\", "\\\\").replace("%", "\\%")
                        .replace("_", "\\_") + "%")
        if sites is not None:
            sql += f" AND l.site IN ({','.join('?' * len(sites)) or 'NULL'})"
            args += sites
        if since:
            sql += " AND l.at >= ?"
            args.append(since)
        if until:
            sql += " AND l.at < ?"
            args.append(until)
        rows = self._read.execute(sql + " ORDER BY l.at DESC LIMIT ?", (*args, limit))
        return [dict(r) for r in rows]

    def audit(self, username: str, action: str, target: str) -> None:
        """Record that someone viewed or exported personal data. `target` (what they asked
        for, a search's words too) is kept with whatever looks like an ID number masked: the
        audit log must not become a list of the numbers people looked for."""
        with self.transaction() as conn:
            conn.execute("INSERT INTO audit (at, username, action, target) VALUES (?, ?, ?, ?)",
                         (format_time(utc_now()), username, action,
                          mask_id_numbers(target)[:500]))

    def audit_log(self, limit: int = 500) -> list[dict[str, Any]]:
        rows = self._read.execute("SELECT at, username, action, target FROM audit"
                                  " ORDER BY id DESC LIMIT ?", (limit,))
        return [dict(r) for r in rows]

    # ---- escalation ---------------------------------------------------------------------------

    def add_rule(self, rule: dict[str, Any]) -> dict[str, Any]:
        with self.transaction() as conn:
            conn.execute("INSERT INTO notify_rules (id, severity, site, events, url, shown_url,"
                         " created_at, by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (rule["id"], rule["severity"], rule["site"], ",".join(rule["events"]),
                          rule["url"], rule["shown_url"], rule["created_at"], rule["by"]))
        return self.rules(rule["id"])[0]

    def rules(self, rule_id: str | None = None) -> list[dict[str, Any]]:
        """The rules in force (the URL only as shown: its secrets masked)."""
        sql, args = ("SELECT id, severity, site, events, shown_url AS url, created_at, by"
                     " FROM notify_rules WHERE removed_at IS NULL", list[Any]())
        if rule_id:
            sql += " AND id = ?"
            args.append(rule_id)
        rows = self._read.execute(sql + " ORDER BY created_at, id", args)
        return [{**dict(r), "events": r["events"].split(",")} for r in rows]

    def remove_rule(self, rule_id: str) -> bool:
        with self.transaction() as conn:
            cursor = conn.execute("UPDATE notify_rules SET removed_at = ? WHERE id = ? AND"
                                  " removed_at IS NULL", (format_time(utc_now()), rule_id))
            return cursor.rowcount > 0

    def due_notifications(self) -> list[dict[str, Any]]:
        """(incident, rule, kind) to notify now: an incident of the rule's severity and site
        opened since the rule was made, or past its deadline unresolved; each once."""
        now = format_time(utc_now())
        rows = self._read.execute(
            "SELECT i.id AS incident_id, i.site, i.device, i.severity, i.title, i.status,"
            " i.opened_at, i.due_at, r.id AS rule_id, r.url, r.shown_url, k.kind"
            " FROM incidents i"
            " JOIN notify_rules r ON r.removed_at IS NULL AND r.severity = i.severity"
            "  AND (r.site IS NULL OR r.site = i.site)"
            " JOIN (SELECT 'opened' AS kind UNION ALL SELECT 'overdue') k"
            "  ON instr(',' || r.events || ',', ',' || k.kind || ',') > 0"
            " WHERE ((k.kind = 'opened' AND i.opened_at >= r.created_at)"
            "  OR (k.kind = 'overdue' AND i.due_at <= ?"
            "      AND i.status IN ('open', 'acknowledged', 'in_progress')))"
            " AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.incident_id = i.id"
            "  AND n.rule_id = r.id AND n.kind = k.kind)"
            " ORDER BY i.opened_at", (now,))
        return [dict(r) for r in rows]

    def record_notification(self, due: dict[str, Any], entry: dict[str, Any],
                            payload: dict[str, Any]) -> None:
        """A notification went out: remember it (never twice) and put it on the incident's
        timeline, which the post receives like a supervisor's entry."""
        incident = {"id": due["incident_id"], "site": due["site"], "device": due["device"]}
        with self.transaction() as conn:
            conn.execute("INSERT INTO notifications (incident_id, rule_id, kind, sent_at,"
                         " entry_id) VALUES (?, ?, ?, ?, ?)",
                         (due["incident_id"], due["rule_id"], due["kind"], entry["at"],
                          entry["id"]))
            self._insert_hub_entry(conn, incident, entry, payload)

    # ---- users and sessions -----------------------------------------------------------------

    def add_user(self, username: str, password_hash: str, role: str, sites: str) -> bool:
        with self.transaction() as conn:
            exists = conn.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone()
            conn.execute(
                "INSERT INTO users (username, password_hash, role, sites, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (username) DO UPDATE SET"
                " password_hash = excluded.password_hash, role = excluded.role,"
                " sites = excluded.sites",
                (username, password_hash, role, sites, format_time(utc_now())))
        return exists is None

    def get_user(self, username: str) -> dict[str, Any] | None:
        row = self._read.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
        return dict(row) if row else None

    def recent_failures(self, username: str, since: str) -> int:
        return int(self._read.execute(
            "SELECT COUNT(*) FROM login_failures WHERE username = ? AND at >= ?",
            (username, since)).fetchone()[0])

    def reserve_login_attempt(self, username: str, since: str, limit: int) -> bool:
        """Count a login as failed before its password is checked, in one write transaction
        with the count (BEGIN IMMEDIATE: atomic across threads and processes on this file), so
        at most `limit` passwords are checked per window however many logins run at once.
        False (nothing stored) when `limit` failures since `since` are already there. Older
        failures are dropped here, so the table holds one window at most."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM login_failures WHERE at < ?", (since,))
            (failures,) = conn.execute(
                "SELECT COUNT(*) FROM login_failures WHERE username = ? AND at >= ?",
                (username, since)).fetchone()
            if failures >= limit:
                return False
            conn.execute("INSERT INTO login_failures VALUES (?, ?)",
                         (username, format_time(utc_now())))
            return True

    def login_succeeded(self, username: str, token_hash: str, expires_at: str) -> None:
        """The password was right: the user's failures go and the session starts, at once."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM login_failures WHERE username = ?", (username,))
            conn.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, NULL)",
                         (token_hash, username, format_time(utc_now()), expires_at))

    def add_session(self, token_hash: str, username: str, expires_at: str) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, NULL)",
                         (token_hash, username, format_time(utc_now()), expires_at))

    def find_session(self, token_hash: str) -> dict[str, Any] | None:
        row = self._read.execute(
            "SELECT u.username, u.role, u.sites FROM sessions s JOIN users u"
            " ON u.username = s.username WHERE s.token_hash = ? AND s.revoked_at IS NULL"
            " AND s.expires_at > ?", (token_hash, format_time(utc_now()))).fetchone()
        return dict(row) if row else None

    def revoke_session(self, token_hash: str) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE sessions SET revoked_at = ? WHERE token_hash = ?",
                         (format_time(utc_now()), token_hash))

    def revoke_user_sessions(self, username: str) -> int:
        with self.transaction() as conn:
            cursor = conn.execute("UPDATE sessions SET revoked_at = ? WHERE username = ? AND"
                                  " revoked_at IS NULL", (format_time(utc_now()), username))
            return cursor.rowcount


_EVENT_FIELDS = {"seq": int, "id": str, "type": str, "at": str, "record_id": str, "data": dict,
                 "prev_hash": str, "hash": str}


def _malformed(event: Any) -> str | None:
    """What is wrong with one event's shape (CONTRACT 4), or None. Cheaper than a pydantic model
    on a 100,000-event backlog; the hash chain checks the content."""
    if not isinstance(event, dict):
        return "not an object"
    for name, kind in _EVENT_FIELDS.items():
        if not isinstance(event.get(name), kind) or (kind is int and isinstance(
                event.get(name), bool)):
            return f"{name} missing or not {kind.__name__}"
    if event["type"] not in EVENT_DATA:
        return f"unknown type {event['type']}"
    if not (event.get("pii") is None or isinstance(event["pii"], dict)):
        return "pii is neither an object nor null"
    if not (event.get("pii_digest") is None or isinstance(event["pii_digest"], str)):
        return "pii_digest is neither a string nor null"
    if set(event) - {"pii", "pii_digest", *_EVENT_FIELDS}:
        return "unknown fields"
    return None


def _site_filter(sql: str, args: list[Any], sites: list[str] | None) -> tuple[str, list[Any]]:
    if sites is None:
        return sql, args
    return sql + f" AND site IN ({','.join('?' * len(sites)) or 'NULL'})", args + list(sites)


# ---- projections ------------------------------------------------------------------------------


def apply_projection(conn: sqlite3.Connection, site: str, device: str,
                     event: dict[str, Any], purge_before: str | None = None) -> str | None:
    """Apply one event's changes (`schemas.projection`) per site and device. Inserts ignore a
    row that is there: a supervisor's entry made here comes back from the edge with its id.
    Returns "deferred" for a purge that reaches records younger than `purge_before`: those keep
    their personal data until `apply_pending_purges` finds them old enough."""
    outcome = None
    for change in changes(event):
        if isinstance(change, Insert):
            row = {**change.row, "site": site, "device": device}
            conn.execute(f"INSERT OR IGNORE INTO {change.table} ({', '.join(row)})"
                         f" VALUES ({', '.join('?' * len(row))})", tuple(row.values()))
        elif isinstance(change, Update):
            conn.execute(f"UPDATE {change.table} SET {', '.join(f'{c} = ?' for c in change.values)}"
                         " WHERE id = ? AND site = ?", (*change.values.values(), change.id, site))
        elif not _apply_purge(conn, site, device, change, purge_before):
            outcome = "deferred"
    if event["type"] == "incident.status" and event["data"]["status"] in MILESTONES:
        column = f"{event['data']['status']}_at"  # the first time, whatever order they came in
        conn.execute(f"UPDATE incidents SET {column} = MIN(COALESCE({column}, ?), ?)"
                     " WHERE id = ? AND site = ?", (event["at"], event["at"],
                                                     event["record_id"], site))
    # the edge has applied a supervisor's entry, or a watch list: its event names the message
    if event["type"] in ("incident.entry", "watchlist.applied"):
        conn.execute("UPDATE outbox SET delivered_at = ? WHERE id = ? AND delivered_at IS NULL",
                     (event["at"], event["record_id"]))
    return outcome


def _apply_purge(conn: sqlite3.Connection, site: str, device: str, change: Purge,
                 purge_before: str | None) -> bool:
    """Clear what a post's purge names; True if all of it, False if records at or after
    `purge_before` (the hub's clock minus its minimum retention) were spared.

    A post with its clock a year ahead purges with a cutoff a year ahead; the hub judges age by
    its own clock: a visit checked in (or an event made) before the floor is cleared, a younger
    one keeps its personal data until `apply_pending_purges` finds it old enough. Only the
    records the purge named are cleared then (its seqs, and the visits they registered), never
    a visit made after it."""
    cutoff = format_time(parse_time(change.older_than))
    cleared = ", ".join(f"{f} = NULL" for f in PURGED_VISIT_FIELDS)
    if purge_before is None or cutoff <= purge_before:  # nothing it names is young: all of it
        _clear_events(conn, site, device, change.seqs, None)
        conn.execute(f"UPDATE visits SET {cleared}, purged_at = ? WHERE site = ? AND"
                     " device = ? AND checked_in_at < ? AND purged_at IS NULL",
                     (change.at, site, device, cutoff))
        return True
    left = _clear_events(conn, site, device, change.seqs, purge_before)
    for start in range(0, len(change.seqs), 500):
        chunk = change.seqs[start:start + 500]
        named = (f"id IN (SELECT record_id FROM events WHERE site = ? AND device = ? AND"
                 f" type = 'visit.registered' AND seq IN ({','.join('?' * len(chunk))}))")
        args = (site, device, site, device, *chunk)
        conn.execute(f"UPDATE visits SET {cleared}, purged_at = ? WHERE site = ? AND device = ?"
                     f" AND {named} AND checked_in_at < ? AND purged_at IS NULL",
                     (change.at, *args, purge_before))
        left += conn.execute(f"SELECT COUNT(*) FROM visits WHERE site = ? AND device = ? AND"
                             f" {named} AND purged_at IS NULL", args).fetchone()[0]
    return left == 0


def _clear_events(conn: sqlite3.Connection, site: str, device: str, seqs: list[int],
                  before: str | None) -> int:
    """Set `pii` of these seqs to null (only of those made before `before`, if given), and
    summarise their logbook search lines again without it; returns how many keep their pii."""
    cleared_events, left = 0, 0
    for start in range(0, len(seqs), 500):
        chunk = seqs[start:start + 500]
        rows = conn.execute(
            f"SELECT seq, type, data, at FROM events WHERE site = ? AND device = ? AND seq"
            f" IN ({','.join('?' * len(chunk))}) AND pii IS NOT NULL",
            (site, device, *chunk)).fetchall()
        old = [r for r in rows if before is None or r["at"] < before]
        left += len(rows) - len(old)
        if not old:
            continue
        conn.execute(f"UPDATE events SET pii = NULL WHERE site = ? AND device = ? AND seq"
                     f" IN ({','.join('?' * len(old))})", (site, device, *[r["seq"] for r in old]))
        # the search index forgets the names too
        conn.executemany(
            "UPDATE search_lines SET summary = ? WHERE site = ? AND device = ? AND seq = ?",
            [(summarise(r["type"], json.loads(r["data"]), None), site, device, r["seq"])
             for r in old])
        cleared_events += len(old)
    if cleared_events:  # merge the index's segments, so the old lines' trigrams are gone too
        conn.execute("INSERT INTO search_fts (search_fts) VALUES ('optimize')")
    return left


# the database itself failed (not the batch): full disk, I/O, locked, damaged, closed
_DATABASE_FAILURES = frozenset({5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 26})  # SQLITE_BUSY ... NOTADB


def is_database_failure(exc: BaseException) -> bool:
    """True for an error of the database (retry later, keep the group unacked), False for one
    a batch's content caused (reject that batch alone)."""
    if isinstance(exc, sqlite3.ProgrammingError | sqlite3.InterfaceError):
        return True  # a closed connection: nothing a batch did
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return code is None or code & 0xFF in _DATABASE_FAILURES
    return isinstance(exc, MemoryError)


def _visit_out(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"], "site": row["site"], "device": row["device"],
        "visitor_name": row["visitor_name"], "id_number_masked": row["id_number_masked"],
        "unit": row["unit"], "category": row["category"], "phone": row["phone"],
        "company": row["company"], "purpose": row["purpose"], "party_size": row["party_size"],
        "vehicle_plate": row["vehicle_plate"], "notes": row["notes"],
        "checked_in_at": row["checked_in_at"], "checked_out_at": row["checked_out_at"],
        "guard": row["guard"],
        "confirmation": {"status": row["confirmation_status"], "request_id": row["request_id"],
                         "answered_at": row["answered_at"]},
    }


def _incident_out(row: sqlite3.Row, milestones: bool = False) -> dict[str, Any]:
    incident = dict(row)
    marks = {status: incident.pop(f"{status}_at", None) for status in MILESTONES}
    if milestones:
        incident["milestones"] = {status: at for status, at in marks.items() if at}
    incident["overdue"] = row["status"] in ("open", "acknowledged", "in_progress") and (
        row["due_at"] < format_time(utc_now()))
    return incident


def _entry_out(row: sqlite3.Row) -> dict[str, Any]:
    entry = dict(row)
    for key in ("site", "device"):
        entry.pop(key, None)
    return entry


