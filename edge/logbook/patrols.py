"""Patrol rounds at the post (CONTRACT section 9): the hub's checkpoints and rounds for the site
(a versioned `patrols` message, replaced as a whole), a guard's scans, the day's occurrences of
each round and their state, and the judging of each occurrence whose window has closed: one
with a checkpoint unscanned logs `patrol.missed` and opens a security incident, once."""

from __future__ import annotations

import builtins
import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, TypeAdapter

from schemas.ids import format_time, new_id, parse_time, utc_now
from schemas.models import (
    Channel,
    PatrolMissedData,
    PatrolsAppliedData,
    PatrolScanData,
    Severity,
)
from schemas.patrols import Checkpoint, Round, occurrences, run_state
from service import errors

from .actors import SYSTEM, Actor
from .family import LogbookParts, VersionedFamily
from .own_incidents import open_own_incident

CHECKPOINTS = TypeAdapter(builtins.list[Checkpoint])
ROUNDS = TypeAdapter(builtins.list[Round])


@dataclass(frozen=True)
class Occurrence:
    """One scheduled run of a round: its window is [start, due); a scan until `until` (the
    next run's start) still counts for it, late."""

    round: dict[str, Any]
    start: datetime
    due: datetime
    until: datetime

    @property
    def key(self) -> str:
        return format_time(self.start)


class Patrols(VersionedFamily):
    """`book.patrols`: checkpoints, rounds and scans of the post."""

    message_type = "patrols"

    def __init__(self, book: LogbookParts) -> None:
        super().__init__(book)
        # the due time up to which each round's runs are judged in this process: a run found
        # done is not looked at again every few seconds (after a restart, the events decide)
        self._judged_until: dict[str, datetime] = {}

    def apply_now(self, message: dict[str, Any]) -> bool:
        """Replace the checkpoints and rounds with the hub's newer version (once per message
        id; the `patrols.applied` event tells the hub it arrived). A round already here keeps
        when it first arrived: occurrences before that are never judged. True if new."""
        checkpoints = CHECKPOINTS.validate_python(message.get("checkpoints") or [])
        rounds = ROUNDS.validate_python(message.get("rounds") or [])

        def replace(conn: sqlite3.Connection) -> None:
            now = format_time(utc_now())
            since = {r["id"]: r["since"] for r in conn.execute("SELECT id, since FROM rounds")}
            conn.execute("DELETE FROM checkpoints")
            conn.executemany(
                "INSERT INTO checkpoints (id, name, location, code) VALUES (?, ?, ?, ?)",
                [(c.id, c.name, c.location, c.code) for c in checkpoints],
            )
            conn.execute("DELETE FROM rounds")
            conn.executemany(
                "INSERT INTO rounds (id, name, checkpoints, every_minutes, window_minutes,"
                " from_time, to_time, since) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        r.id,
                        r.name,
                        json.dumps(r.checkpoints),
                        r.every_minutes,
                        r.window_minutes,
                        r.from_,
                        r.to,
                        since.get(r.id, now),
                    )
                    for r in rounds
                ],
            )

        def applied(conn: sqlite3.Connection, in_force: int, replaced: bool) -> BaseModel:
            held = conn.execute(
                "SELECT (SELECT COUNT(*) FROM checkpoints), (SELECT COUNT(*) FROM rounds)"
            ).fetchone()
            return PatrolsAppliedData(
                version=in_force, checkpoints=int(held[0]), rounds=int(held[1]), by="hub:patrols"
            )

        return self.apply_version(message, replace, applied)

    # ---- scans ----------------------------------------------------------------------------

    async def scan(self, code: str, at: datetime | None, by: Actor) -> dict[str, Any]:
        """Record a scan of the checkpoint whose code this is (404 for none). It counts for
        the round whose current run still lacks it, on time if within that run's window."""
        scanned = (at or utc_now()).astimezone(UTC)
        scan_id = new_id()

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            checkpoint = conn.execute(
                "SELECT id FROM checkpoints WHERE code = ?", (code,)
            ).fetchone()
            if checkpoint is None:
                raise errors.NotFound("no checkpoint has this code", loc=("body", "code"))
            round_id, on_time = self._counts_for(conn, checkpoint["id"], scanned)
            data = PatrolScanData(
                checkpoint=checkpoint["id"],
                round=round_id,
                scanned_at=format_time(scanned),
                on_time=on_time,
                by=by.ref,
            )
            self.writer.append(conn, "patrol.scan", scan_id, data)
            return {
                "id": scan_id,
                "checkpoint": checkpoint["id"],
                "round": round_id,
                "on_time": on_time,
            }

        return await self.writer.run(work)

    def get_scan(self, scan_id: str) -> dict[str, Any] | None:
        """A scan with its checkpoint's name (for the page that confirms it), or None."""
        row = self.book.reader.execute(
            "SELECT s.id, s.on_time, s.round_id, s.scanned_at, c.name FROM patrol_scans s"
            " LEFT JOIN checkpoints c ON c.id = s.checkpoint_id WHERE s.id = ?",
            (scan_id,),
        ).fetchone()
        return dict(row) if row else None

    def _counts_for(
        self, conn: sqlite3.Connection, checkpoint_id: str, at: datetime
    ) -> tuple[str | None, bool]:
        """The round a scan at `at` counts for, and whether it is on time: of the runs that
        include the checkpoint and are going on at `at`, one still lacking it, on time first."""
        best: tuple[str | None, bool] = (None, False)
        for run in self._runs_at(conn, at):
            if checkpoint_id not in json.loads(run.round["checkpoints"]):
                continue
            if checkpoint_id in self._scanned(conn, run):
                continue
            on_time = at < run.due
            if on_time:
                return run.round["id"], True
            if best[0] is None:
                best = (run.round["id"], False)
        return best

    def _runs_at(self, conn: sqlite3.Connection, at: datetime) -> builtins.list[Occurrence]:
        local = at.astimezone(self.book.zone).date()
        runs = [
            run
            for day in (local - timedelta(days=1), local)
            for run in self._runs(conn, day)
            if run.start <= at < run.until
        ]
        return sorted(runs, key=lambda run: run.start)

    def _runs(self, conn: sqlite3.Connection, day: date) -> builtins.list[Occurrence]:
        """Every round's runs that start on the site's local date `day`."""
        zone = self.book.zone
        day_start = datetime(day.year, day.month, day.day, tzinfo=zone)
        runs = []
        for row in conn.execute("SELECT * FROM rounds ORDER BY name, id"):
            every = timedelta(minutes=row["every_minutes"])
            window = timedelta(minutes=row["window_minutes"])
            for start in occurrences(
                row["every_minutes"], row["from_time"], row["to_time"], day_start
            ):
                runs.append(Occurrence(dict(row), start, start + window, start + every))
        return runs

    def _scanned(self, conn: sqlite3.Connection, run: Occurrence) -> dict[str, str]:
        """{checkpoint id: first scan time} of the scans that count for this run."""
        rows = conn.execute(
            "SELECT checkpoint_id, MIN(scanned_at) AS at FROM patrol_scans WHERE round_id = ?"
            " AND scanned_at >= ? AND scanned_at < ? GROUP BY checkpoint_id",
            (run.round["id"], format_time(run.start), format_time(run.until)),
        )
        return {r["checkpoint_id"]: r["at"] for r in rows}

    # ---- the day's rounds ---------------------------------------------------------------------

    def day(self, day: date) -> builtins.list[dict[str, Any]]:
        """The runs of every round that start on the site's local date, in time order, each
        with its checkpoints (and when each was scanned) and its state."""
        conn, now = self.book.reader, utc_now()
        names = {r["id"]: r["name"] for r in conn.execute("SELECT id, name FROM checkpoints")}
        shown = []
        for run in sorted(self._runs(conn, day), key=lambda run: (run.start, run.round["name"])):
            scanned = self._scanned(conn, run)
            ids = json.loads(run.round["checkpoints"])
            shown.append(
                {
                    "round": run.round["id"],
                    "name": run.round["name"],
                    "due_at": format_time(run.due),
                    "starts_at": format_time(run.start),
                    "checkpoints": [
                        {"id": i, "name": names.get(i, i), "scanned_at": scanned.get(i)}
                        for i in ids
                    ],
                    "state": run_state(ids, scanned, run.due, now),
                }
            )
        return shown

    # ---- missed rounds ---------------------------------------------------------------------

    def judge_now(self) -> int:
        """Judge every run whose window has closed since its round arrived (today's and
        yesterday's): one with a checkpoint not scanned in its window logs `patrol.missed` and
        opens an incident, in one transaction, once (the events say which runs were judged).
        Answers how many were missed now."""
        now = utc_now()
        today = now.astimezone(self.book.zone).date()
        runs = [
            run
            for day in (today - timedelta(days=1), today)
            for run in self._runs(self.book.reader, day)
            if parse_time(run.round["since"]) <= run.start
            and self._judged_until.get(run.round["id"], run.start) <= run.start
            and run.due <= now
        ]
        if not runs:
            return 0

        def work(conn: sqlite3.Connection) -> int:
            judged = {
                (r[0], r[1])
                for r in conn.execute(
                    "SELECT json_extract(data, '$.round'), json_extract(data, '$.starts_at')"
                    " FROM events WHERE type = 'patrol.missed' AND at >= ?",
                    (format_time(now - timedelta(days=3)),),
                )
            }
            missed = 0
            for run in runs:
                if (run.round["id"], run.key) in judged:
                    continue
                on_time = {
                    i for i, at in self._scanned(conn, run).items() if at < format_time(run.due)
                }
                missing = [i for i in json.loads(run.round["checkpoints"]) if i not in on_time]
                if missing:
                    self._log_missed(conn, run, missing)
                    missed += 1
            return missed

        missed = self.writer.write(work)
        for run in runs:  # only once the events are on disk
            until = self._judged_until.get(run.round["id"], run.due)
            self._judged_until[run.round["id"]] = max(until, run.due)
        return missed

    def _log_missed(self, conn: sqlite3.Connection, run: Occurrence, missing: list[str]) -> None:
        incident_id, opened = new_id(), utc_now()
        severity = self.book.patrol_missed_severity  # the site's settings; default medium
        names = {r["id"]: r["name"] for r in conn.execute("SELECT id, name FROM checkpoints")}
        self.writer.append(
            conn,
            "patrol.missed",
            new_id(),
            PatrolMissedData(
                round=run.round["id"],
                starts_at=run.key,
                due_at=format_time(run.due),
                missing=missing,
                incident_id=incident_id,
                by=SYSTEM.ref,
            ),
        )
        open_own_incident(
            self.book,
            conn,
            incident_id,
            category="security",
            severity=Severity(severity),
            # a code the pages word in their language (`service.pages_text.incident_title`)
            title=f"Patrol {run.round['name']}: missed",
            description=f"patrol round {run.round['id']} due at {format_time(run.due)}:"
            f" not scanned: {', '.join(names.get(i, i) for i in missing)}",
            channel=Channel.patrol,
            by=SYSTEM.ref,
            at=opened,
        )
