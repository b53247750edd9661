"""Retention of personal data: the purge past retention, judged by the log's own time as well as
the wall clock (a Pi has no RTC), and the clock warnings that follow from the same rule."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any

from schemas.ids import format_time, new_id, parse_time, utc_now
from schemas.models import PiiPurgedData
from service import errors

from .actors import SYSTEM, Actor
from .family import Family

MAX_LOG_STEP = timedelta(days=1)  # the most time one gap between events vouches for (purge)
CLOCK_SLACK = timedelta(minutes=5)  # a clock this far behind the newest event is still fine


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
    young = [
        at for at, logged in zip(stamps, log_times, strict=True) if logged >= log_now - retention
    ]
    return min([wall_cutoff, *young])


class Retention(Family):
    """`book.retention`: personal data (visitors', complainants', an incident's free text)
    leaves the post after the retention period."""

    def purge_now(
        self, older_than_days: int, by: Actor = SYSTEM, trust_clock: bool = False
    ) -> dict[str, Any]:
        """Remove visitors' and incidents' personal data past retention, append a `pii.purged`
        event, and checkpoint so the removed bytes leave the WAL as well as the database file.

        Age is judged by the log as well as the wall clock (a Pi has no RTC): see
        `purge_cutoff`. ClockBehind when the clock is behind the newest event.
        `trust_clock`: the clock was checked by a person; judge age by it alone."""
        now = utc_now()
        retention = timedelta(days=older_than_days)
        stamps = [
            (int(r[0]), parse_time(r[1]))
            for r in self.book.reader.execute("SELECT seq, at FROM events ORDER BY seq")
        ]
        if stamps and now < stamps[-1][1] - CLOCK_SLACK:
            raise errors.ClockBehind(
                f"the clock ({format_time(now)}) is behind the newest logbook event "
                f"(seq {stamps[-1][0]}, {format_time(stamps[-1][1])}); purge refused: set the "
                "clock, then purge again"
            )
        limit = (
            now - retention
            if trust_clock
            else purge_cutoff([at for _, at in stamps], now, retention)
        )
        scanned = stamps[-1][0] if stamps else 0

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            # events appended since the scan are young whatever their stamp says
            newer = conn.execute("SELECT MIN(at) FROM events WHERE seq > ?", (scanned,)).fetchone()[
                0
            ]
            cutoff = format_time(min(limit, parse_time(newer)) if newer else limit)
            visits = [
                r["id"]
                for r in conn.execute(
                    "SELECT id FROM visits WHERE checked_in_at < ? AND purged_at IS NULL", (cutoff,)
                )
            ]
            # an incident's free text and the people it names go as a visitor's do, closed or
            # not (CONTRACT 2 and 6: personal data is purged with retention, not with handling)
            incidents = [
                r["id"]
                for r in conn.execute(
                    "SELECT id FROM incidents WHERE opened_at < ? AND purged_at IS NULL",
                    (cutoff,),
                )
            ]
            # residents' pre-approvals name the visitor they expect: theirs go too; so do the
            # notes of old handovers and the reasons given for old door events
            seqs = [
                r["seq"]
                for r in conn.execute(
                    "SELECT seq FROM events WHERE type = 'preapproval.created' AND at < ?"
                    " AND pii IS NOT NULL UNION SELECT seq FROM events WHERE type = 'shift.note'"
                    " AND record_id IN (SELECT id FROM shift_notes WHERE at < ? AND text <> '')"
                    " UNION SELECT seq FROM events WHERE type = 'door.event' AND record_id IN"
                    " (SELECT id FROM door_events WHERE recorded_at < ? AND reason IS NOT NULL)",
                    (cutoff, cutoff, cutoff),
                )
            ]
            if not visits and not seqs and not incidents:
                return {"visits": 0, "incidents": 0, "events": 0, "cutoff": cutoff}
            for start in range(0, len(visits), 500):
                chunk = visits[start : start + 500]
                seqs += [
                    r["seq"]
                    for r in conn.execute(
                        "SELECT seq FROM events WHERE pii IS NOT NULL AND record_id IN"
                        f" ({','.join('?' * len(chunk))})",
                        chunk,
                    )
                ]
            for start in range(0, len(incidents), 500):
                chunk = incidents[start : start + 500]
                marks = ",".join("?" * len(chunk))
                # its own events (older ones keep their text in `data`: named too, so the
                # projections let go of it) and its entries'
                seqs += [
                    r["seq"]
                    for r in conn.execute(
                        f"SELECT seq FROM events WHERE record_id IN ({marks}) AND (pii IS NOT"
                        " NULL OR type IN ('incident.opened', 'incident.status',"
                        " 'incident.severity')) UNION SELECT seq FROM events WHERE"
                        " type = 'incident.entry' AND record_id IN (SELECT id FROM"
                        f" incident_entries WHERE incident_id IN ({marks}))",
                        (*chunk, *chunk),
                    )
                ]
            seqs.sort()
            self.writer.append(
                conn,
                "pii.purged",
                new_id(),
                PiiPurgedData(
                    older_than=cutoff,
                    seqs=seqs,
                    visits=len(visits),
                    incidents=len(incidents),
                    by=by.ref,
                ),
            )
            conn.execute(
                "UPDATE preapprovals SET visitor_name = NULL WHERE created_at < ?", (cutoff,)
            )
            return {
                "visits": len(visits),
                "incidents": len(incidents),
                "events": len(seqs),
                "cutoff": cutoff,
            }

        removed = self.writer.write(work)
        if removed["events"]:
            self.writer.checkpoint()
        return removed

    def clock_problem(self) -> dict[str, Any] | None:
        """What the tablet warns about the post's clock: `behind` the newest event (certainly
        wrong), or `ahead`: more than a day past it (a jump, or a post idle that long)."""
        row = self.book.reader.execute("SELECT at FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        if row is None:
            return None
        now, last = utc_now(), parse_time(row[0])
        if now < last - CLOCK_SLACK:
            return {"problem": "behind", "days": (last - now).days, "last_at": row[0]}
        if now - last > MAX_LOG_STEP:
            return {"problem": "ahead", "days": (now - last).days, "last_at": row[0]}
        return None
