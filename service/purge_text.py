"""What a purge clears of the rows its events made, the same at the post and the hub: an
incident's personal fields and free text, an entry's or a shift note's text, a reason given.
The events are the purge's seqs (`pii.purged`), so only what the post named is cleared."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from schemas.free_text import TEXT_FIELDS, without_text
from schemas.projection import PURGED_INCIDENT_FIELDS, PURGED_TEXT


class Executes(Protocol):
    """A connection: SQLite's at the post, the hub's engine connection (SQLite or PostgreSQL);
    the SQL here is what both engines run."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Any: ...


# a title a person typed becomes empty (pages word it as removed); a watch-list title is a unit
_INCIDENT_SET = ", ".join(
    [f"{f} = NULL" for f in PURGED_INCIDENT_FIELDS]
    + ["title = CASE WHEN title_code IS NULL THEN '' ELSE title END", "purged_at = ?"]
)


def clear_free_text(
    conn: Executes,
    events: Iterable[Mapping[str, Any]],
    at: str,
    scope: Mapping[str, str] | None = None,
) -> int:
    """Clear what these events (`type`, `id`, `record_id`) put in the projections as personal
    text, in rows also matching `scope` (the hub's site and device); returns how many rows."""
    where = "".join(f" AND {column} = ?" for column in scope or {})
    cleared = 0
    for event in events:
        spec = PURGED_TEXT.get(event["type"])
        if spec is None:
            continue
        table, key, values = spec
        if table == "incidents":
            sets, args = _INCIDENT_SET, [at]
        else:
            sets, args = ", ".join(f"{column} = ?" for column in values), list(values.values())
        cleared += conn.execute(
            f"UPDATE {table} SET {sets} WHERE id = ?{where}",
            (*args, event[key], *(scope or {}).values()),
        ).rowcount
    return cleared


# how a logbook tells that a purge cleared the record of an older event that kept a person's
# words in `data`: the table, the column naming the row (`record_id` or the event's `id`), and
# what the cleared row looks like
_CLEARED = {
    "visit.confirmation": ("visits", "record_id", "purged_at IS NOT NULL"),
    "incident.opened": ("incidents", "record_id", "purged_at IS NOT NULL"),
    "incident.entry": ("incident_entries", "record_id", "text = ''"),
    "shift.note": ("shift_notes", "record_id", "text = ''"),
    "door.event": ("door_events", "record_id", "reason IS NULL"),
    "incident.status": ("incident_changes", "id", "reason IS NULL"),
    "incident.severity": ("incident_changes", "id", "reason IS NULL"),
}


def as_purged(
    conn: Executes, rows: Iterable[Mapping[str, Any]], site: str | None = None
) -> list[dict[str, Any]]:
    """Event rows (`id`, `type`, `record_id`, `data`, `pii`; `device` at the hub, with its
    `site`) as a logbook shows them: an older event that kept a person's words in `data`, whose
    record a purge has cleared, without them (the stored event keeps them: its hash covers
    them)."""
    shown = []
    for row in rows:
        line = dict(row)
        if row["type"] in _CLEARED and row["pii"] is None:
            data = json.loads(row["data"])
            if any(data.get(f) for f in TEXT_FIELDS) and _is_cleared(conn, line, site):
                line["data"] = json.dumps(without_text(data), ensure_ascii=False)
        shown.append(line)
    return shown


def _is_cleared(conn: Executes, row: Mapping[str, Any], site: str | None) -> bool:
    table, key, cleared = _CLEARED[row["type"]]
    where, args = f"id = ? AND {cleared}", [row[key]]
    if site is not None:
        where, args = where + " AND site = ? AND device = ?", [*args, site, row["device"]]
    return conn.execute(f"SELECT 1 FROM {table} WHERE {where}", args).fetchone() is not None
