"""The hub's projections: one event's changes (`schemas.projection`) applied per site and
device, and a post's purge of personal data judged by the hub's own clock."""

from __future__ import annotations

import json
from typing import Any

from schemas.free_text import said, without_text
from schemas.ids import format_time, parse_time
from schemas.lines import summarise
from schemas.projection import PURGED_TEXT, PURGED_VISIT_FIELDS, Insert, Purge, Update, changes
from service import sqlite
from service.purge_text import clear_free_text

from .engine import Conn, Engine
from .schema import MILESTONES

# the events with which a post says it applied a down message (their record_id is its id)
DELIVERY_EVENTS = frozenset(
    {
        "incident.entry",
        "watchlist.applied",
        "settings.applied",
        "directory.applied",
        "roster.applied",
        "patrols.applied",
    }
)


def apply_projection(
    conn: sqlite.InsertRuns,
    db: Engine,
    site: str,
    device: str,
    event: dict[str, Any],
    purge_before: str | None = None,
) -> str | None:
    """Apply one event's changes (`schemas.projection`) per site and device (inserts wait in
    `conn` to go with the next events' in one statement). Inserts ignore a row that is there:
    a supervisor's entry made here comes back from the edge with its id.
    Returns "deferred" for a purge that reaches records younger than `purge_before`: those keep
    their personal data until `apply_pending_purges` finds them old enough."""
    outcome = None
    for change in changes(event):
        if isinstance(change, Insert):
            row = {**change.row, "site": site, "device": device}
            conn.insert(change.table, row, if_new=True)
        elif isinstance(change, Update):
            sqlite.update_row(conn, change.table, change.values, {"id": change.id, "site": site})
        elif not apply_purge(conn, db, site, device, change, purge_before):
            outcome = "deferred"
    if event["type"] == "incident.status" and event["data"]["status"] in MILESTONES:
        column = f"{event['data']['status']}_at"  # the first time, whatever order they came in
        conn.execute(
            f"UPDATE incidents SET {column} = CASE WHEN {column} IS NULL OR {column} > ?"
            f" THEN ? ELSE {column} END WHERE id = ? AND site = ?",
            (event["at"], event["at"], event["record_id"], site),
        )
    # the edge has applied a supervisor's entry, a watch list, settings or a directory: its
    # event names the message
    if event["type"] in DELIVERY_EVENTS:
        conn.execute(
            "UPDATE outbox SET delivered_at = ? WHERE id = ? AND delivered_at IS NULL",
            (event["at"], event["record_id"]),
        )
    command_id = event["data"].get("command_id")
    if command_id:
        settle_command(conn, site, str(command_id), event)
    return outcome


def settle_command(conn: Conn, site: str, command_id: str, event: dict[str, Any]) -> None:
    """The post carried out a command from the hub (its event names the command) or refused
    it (`command.rejected`, with the reason): the command is settled and no longer sent."""
    rejected = event["type"] == "command.rejected"
    conn.execute(
        "UPDATE commands SET state = ?, state_reason = ?, settled_at = ?"
        " WHERE id = ? AND site = ? AND state = 'pending'",
        (
            "rejected" if rejected else "applied",
            said(event["data"], event.get("pii"), "reason") if rejected else None,
            event["at"],
            command_id,
            site,
        ),
    )
    conn.execute(
        "UPDATE outbox SET delivered_at = ? WHERE id = ? AND site = ? AND delivered_at IS NULL",
        (event["at"], command_id, site),
    )


def apply_purge(
    conn: Conn, db: Engine, site: str, device: str, change: Purge, purge_before: str | None
) -> bool:
    """Clear what a post's purge names; True if all of it, False if records at or after
    `purge_before` (the hub's clock minus its minimum retention) were spared.

    A post with its clock a year ahead purges with a cutoff a year ahead; the hub judges age by
    its own clock: a visit checked in (or an event made) before the floor is cleared, a younger
    one keeps its personal data until `apply_pending_purges` finds it old enough. Only the
    records the purge named are cleared then (its seqs, and the visits they registered), never
    a visit made after it. Incidents, entries, notes and door events lose what the named events
    put in them (`clear_free_text`): an incident the post keeps open is never named."""
    cutoff = format_time(parse_time(change.older_than))
    cleared = ", ".join(f"{f} = NULL" for f in PURGED_VISIT_FIELDS)
    if purge_before is None or cutoff <= purge_before:  # nothing it names is young: all of it
        _clear_events(conn, db, site, device, change, None)
        conn.execute(
            f"UPDATE visits SET {cleared}, purged_at = ? WHERE site = ? AND"
            " device = ? AND checked_in_at < ? AND purged_at IS NULL",
            (change.at, site, device, cutoff),
        )
        return True
    left = _clear_events(conn, db, site, device, change, purge_before)
    for start in range(0, len(change.seqs), 500):
        chunk = change.seqs[start : start + 500]
        named = (
            "id IN (SELECT record_id FROM events WHERE site = ? AND device = ? AND"
            f" type = 'visit.registered' AND seq IN ({','.join('?' * len(chunk))}))"
        )
        args = (site, device, site, device, *chunk)
        conn.execute(
            f"UPDATE visits SET {cleared}, purged_at = ? WHERE site = ? AND device = ?"
            f" AND {named} AND checked_in_at < ? AND purged_at IS NULL",
            (change.at, *args, purge_before),
        )
        left += conn.execute(
            f"SELECT COUNT(*) FROM visits WHERE site = ? AND device = ? AND"
            f" {named} AND purged_at IS NULL",
            args,
        ).fetchone()[0]
    return left == 0


def _clear_events(
    conn: Conn, db: Engine, site: str, device: str, change: Purge, before: str | None
) -> int:
    """Set `pii` of the purge's seqs to null (only of those made before `before`, if given),
    clear the free text they put in the projections, and summarise their logbook search lines
    again without it (nor the text older events keep in `data`); returns how many events are
    left for later (made at or after `before`)."""
    cleared_events, left, scope = 0, 0, {"site": site, "device": device}
    for start in range(0, len(change.seqs), 500):
        chunk = change.seqs[start : start + 500]
        rows = conn.execute(
            f"SELECT seq, id, type, record_id, data, at, pii FROM events WHERE site = ? AND"
            f" device = ? AND seq IN ({','.join('?' * len(chunk))})",
            (site, device, *chunk),
        ).fetchall()
        pending = [r for r in rows if r["pii"] is not None or r["type"] in PURGED_TEXT]
        old = [r for r in pending if before is None or r["at"] < before]
        left += len(pending) - len(old)
        if not old:
            continue
        conn.execute(
            f"UPDATE events SET pii = NULL WHERE site = ? AND device = ? AND seq"
            f" IN ({','.join('?' * len(old))})",
            (site, device, *[r["seq"] for r in old]),
        )
        clear_free_text(conn, old, change.at, scope)
        opened = [r["record_id"] for r in old if r["type"] == "incident.opened"]
        _forget_sent_words(conn, site, opened)
        # the search index forgets the names and the words too (a line not written yet is
        # written now, without them: `SearchAudit.write_lines` then leaves it)
        conn.executemany(
            "INSERT INTO search_lines (site, device, seq, at, type, summary)"
            " VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (site, device, seq) DO UPDATE SET summary = excluded.summary",
            [
                (
                    site,
                    device,
                    r["seq"],
                    r["at"],
                    r["type"],
                    summarise(r["type"], without_text(json.loads(r["data"])), None),
                )
                for r in old
            ],
        )
        cleared_events += len(old)
    if cleared_events:  # merge the index's segments, so the old lines' trigrams are gone too
        db.optimize_search(conn)
    return left


def _forget_sent_words(conn: Conn, site: str, incidents: list[str]) -> None:
    """The hub's own copies of what its people typed about purged incidents: the reasons of
    their commands, and the delivered messages (commands, supervisors' entries) that carried
    them to the post."""
    if not incidents:
        return
    marks = ",".join("?" * len(incidents))
    conn.execute(
        "DELETE FROM outbox WHERE site = ? AND delivered_at IS NOT NULL AND (id IN (SELECT id"
        f" FROM commands WHERE site = ? AND incident_id IN ({marks})) OR id IN (SELECT id FROM"
        f" incident_entries WHERE site = ? AND incident_id IN ({marks})))",
        (site, site, *incidents, site, *incidents),
    )
    conn.execute(
        f"UPDATE commands SET reason = NULL WHERE site = ? AND incident_id IN ({marks})",
        (site, *incidents),
    )
