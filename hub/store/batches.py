"""Ingest of the posts' event batches, as `schemas.prepared.prepare` read them (each event's
shape and data checked strictly, its hash computed): a savepoint per batch, the hash-chain
check, the projections in the same transaction, and the purges that wait until the records they
name are old enough.

Events arrive per device in batches. `ingest` stores each `(site, device, seq)` once, applies a
device's events strictly in seq order, never acks past a gap, checks every batch against the hash
chain it already holds, and rejects (stores nothing of, marks the device tampered) a batch that
does not link. Projections are built per site in the same transaction.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from schemas.canonical import chain_break
from schemas.ids import format_time, utc_now
from schemas.messages import UnreadableMessage
from schemas.prepared import Digests, Prepared, digest_events
from schemas.projection import Purge
from service import sqlite

from . import parked
from .devices import Devices
from .engine import Conn, is_database_failure
from .projection import apply_projection, apply_purge

log = logging.getLogger(__name__)


@dataclass
class BatchResult:
    """What ingesting one batch did: the ack to send, and why nothing was stored if so."""

    site: str
    device: str
    acked_seq: int
    stored: int
    rejected: str | None = None
    purged: bool = False  # it held a purge: checkpoint so the removed bytes leave the WAL
    busy: bool = False  # not looked at: another hub process is ingesting this post (no ack)


class Batches(Devices):
    """The `events`, `lines_pending` and `pending_purges` tables, written by ingest."""

    def ingest(
        self,
        batches: list[tuple[str, str, Any]],
        *,
        purge_before: str | None = None,
        skip_busy: bool = False,
    ) -> list[BatchResult]:
        """Ingest several `(site, device, payload)` batches in one transaction (a payload as
        `schemas.prepared.prepare` made it, or as `read_batch` read it); the results say what
        to ack. Acks must be sent only after this returns (the commit).

        Each batch has its own savepoint: one that cannot be applied is rejected alone (its
        device flagged) and the others commit. A failure of the database itself (full disk, I/O)
        raises: nothing of the group is kept or acked, and the posts resend it.
        `purge_before`: a purge never clears personal data of records at or after this time
        (the hub's clock minus its minimum retention).
        `skip_busy`: instead of waiting for a post that another hub process is ingesting,
        leave its batches (`busy` results) for a later transaction and store the others."""
        results: list[BatchResult] = []
        now = format_time(utc_now())
        posts = [(site, device) for site, device, _ in batches]
        with self.db.transaction(devices=() if skip_busy else posts) as conn:
            free = self.db.free_devices(conn, posts) if skip_busy else set(posts)
            for site, device, payload in batches:
                if (site, device) not in free:
                    results.append(BatchResult(site, device, 0, 0, busy=True))
                    continue
                result = self._alone(conn, site, device, payload, now, purge_before)
                results.append(result)
                if result.stored:  # batches that came ahead of this one may go on from it
                    results.extend(self._unpark(conn, site, device, now, purge_before))
        return results

    def _alone(
        self,
        conn: Conn,
        site: str,
        device: str,
        payload: Any,
        now: str,
        purge_before: str | None,
        savepoint: str = "batch",
    ) -> BatchResult:
        """One batch in its own savepoint: one that cannot be applied is rejected alone."""
        conn.execute(f"SAVEPOINT {savepoint}")
        try:
            result = self._ingest_one(conn, site, device, payload, now, purge_before)
        except Exception as exc:
            if is_database_failure(exc):
                raise
            conn.execute(f"ROLLBACK TO {savepoint}")
            conn.execute(f"RELEASE {savepoint}")
            reason = f"batch could not be applied ({type(exc).__name__})"
            return self._reject(conn, site, device, now, reason)
        conn.execute(f"RELEASE {savepoint}")
        return result

    def _unpark(
        self, conn: Conn, site: str, device: str, now: str, purge_before: str | None
    ) -> list[BatchResult]:
        """Store the parked batches that go on from what this post has now (`hub.store.parked`),
        each alone like any batch."""
        results: list[BatchResult] = []
        acked = self._device_row(conn, site, device)["acked_seq"]
        while (events := parked.take_next(conn, site, device, acked)) is not None:
            payload = {"site": site, "device": device, "events": events}
            result = self._alone(conn, site, device, payload, now, purge_before, "parked")
            results.append(result)
            if not result.stored:
                break
            acked = result.acked_seq
        return results

    def apply_pending_purges(self, purge_before: str) -> int:
        """Apply again the purges that spared records younger than the hub's retention, now
        that time has passed; returns how many are complete."""
        if not self._read.execute("SELECT 1 FROM pending_purges LIMIT 1").fetchone():
            return 0
        with self.transaction() as conn:
            pending = conn.execute(
                "SELECT p.site, p.device, p.seq, e.at, e.data FROM pending_purges p JOIN events e"
                " USING (site, device, seq)"
            ).fetchall()
            done = 0
            for row in pending:
                data = json.loads(row["data"])
                change = Purge(list(data["seqs"]), data["older_than"], row["at"])
                if apply_purge(conn, self.db, row["site"], row["device"], change, purge_before):
                    conn.execute(
                        "DELETE FROM pending_purges WHERE site = ? AND device = ? AND seq = ?",
                        (row["site"], row["device"], row["seq"]),
                    )
                    done += 1
        return done

    def _reject(self, conn: Conn, site: str, device: str, now: str, reason: str) -> BatchResult:
        """Store nothing of a batch, log why (never its content), and flag its device."""
        acked = self._device_row(conn, site, device)["acked_seq"]
        log.warning(
            "batch rejected",
            extra={"site": site, "device": device, "reason": reason, "acked_seq": acked},
        )
        self._flag(conn, site, device, now, reason)
        return BatchResult(site, device, acked, 0, reason)

    def _ingest_one(
        self,
        conn: Conn,
        site: str,
        device: str,
        payload: Any,
        now: str,
        purge_before: str | None = None,
    ) -> BatchResult:
        row = self._device_row(conn, site, device)
        acked, last_hash = row["acked_seq"], row["last_hash"]
        conn.execute(
            "UPDATE devices SET last_seen = ? WHERE site = ? AND device = ?", (now, site, device)
        )

        def reject(reason: str) -> BatchResult:
            return self._reject(conn, site, device, now, reason)

        prepared = payload if isinstance(payload, Prepared) else None
        if prepared is not None:
            payload = prepared.batch
        if isinstance(payload, UnreadableMessage):
            return reject(f"unreadable batch: {payload}")
        if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
            return reject("malformed batch")
        if (payload.get("site"), payload.get("device")) != (site, device):
            return reject("batch names another site or device than its topic")
        events = payload["events"]  # each event's shape was checked by `read_batch`
        seqs = [e["seq"] for e in events]
        if seqs != sorted(set(seqs)):
            return reject("events out of seq order")
        old = [e for e in events if e["seq"] <= acked]
        if old:
            stored = dict(
                conn.execute(
                    f"SELECT seq, hash FROM events WHERE site = ? AND device = ? AND seq IN"
                    f" ({','.join('?' * len(old))})",
                    (site, device, *[e["seq"] for e in old]),
                ).fetchall()
            )
            for event in old:
                if stored.get(event["seq"]) not in (None, event["hash"]):
                    return reject(f"seq {event['seq']} differs from the stored event")
        new = [e for e in events if e["seq"] > acked]
        if not new:
            return BatchResult(site, device, acked, 0)  # a duplicate: ack again, change nothing
        if new[0]["seq"] != acked + 1:
            # a gap: the batch before is with another hub process, or lost (the post resends
            # it); this one waits for it
            parked.park(conn, site, device, new, now)
            return BatchResult(site, device, acked, 0)
        # each event's texts and hash, computed outside the write lock (`hub.preparing`) or
        # now for a batch given as read (a parked one, a test's)
        digests = prepared.digests.after(len(events) - len(new)) if prepared else digest_events(new)
        bad = chain_break(new, last_hash, acked, digests.hashes, digests.pii_digests)
        if bad is not None:
            return reject(f"chain does not link at seq {bad}")
        with self.db.pipeline(conn):  # one round trip to PostgreSQL, not one per event
            self._store(conn, site, device, new, digests, now, purge_before)
        return BatchResult(
            site,
            device,
            new[-1]["seq"],
            len(new),
            purged=any(e["type"] == "pii.purged" for e in new),
        )

    def _store(
        self,
        conn: Conn,
        site: str,
        device: str,
        new: list[dict[str, Any]],
        digests: Digests,
        now: str,
        purge_before: str | None,
    ) -> None:
        """Store a post's next events (checked: in order, linked), their projections, the
        lines they owe the search, and the post's new `acked_seq`."""
        conn.executemany(
            "INSERT INTO events (site, device, seq, id, type, at, record_id, data, pii,"
            " pii_digest, prev_hash, hash, received_at) VALUES"
            " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    site,
                    device,
                    e["seq"],
                    e["id"],
                    e["type"],
                    e["at"],
                    e["record_id"],
                    data_text,
                    pii_text,
                    e.get("pii_digest"),
                    e["prev_hash"],
                    e["hash"],
                    now,
                )
                for e, data_text, pii_text in zip(
                    new, digests.data_texts, digests.pii_texts, strict=True
                )
            ],
        )
        runs = sqlite.InsertRuns(conn)
        for event in new:
            if apply_projection(runs, self.db, site, device, event, purge_before) == "deferred":
                runs.execute(
                    "INSERT INTO pending_purges VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    (site, device, event["seq"]),
                )
                log.warning(
                    "purge of records younger than the hub's retention deferred",
                    extra={"site": site, "device": device, "seq": event["seq"]},
                )
                self._flag(
                    runs,
                    site,
                    device,
                    now,
                    "purge of records younger than retention:"
                    f" applied to records before {purge_before} only",
                )
        runs.flush()
        # their logbook lines are written behind ingest (`SearchAudit.write_lines`)
        conn.execute(
            "INSERT INTO lines_pending (site, device, first_seq, last_seq) VALUES (?, ?, ?, ?)",
            (site, device, new[0]["seq"], new[-1]["seq"]),
        )
        conn.execute(
            "UPDATE devices SET acked_seq = ?, last_hash = ? WHERE site = ? AND device = ?",
            (new[-1]["seq"], new[-1]["hash"], site, device),
        )


__all__ = ["BatchResult", "Batches", "is_database_failure"]
