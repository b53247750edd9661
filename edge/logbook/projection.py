"""The post's projection tables kept by its events: each event's changes
(`schemas.projection`, the same for edge and hub) in the post's own SQL, with the columns only
the post keeps (the seq that made a visit or entry, a visit's ID-number HMAC)."""

from __future__ import annotations

import sqlite3
from typing import Any

from schemas.projection import PURGED_VISIT_FIELDS, Insert, Update, changes
from service import sqlite
from service.purge_text import clear_free_text

# edge-only columns: the seq that made a visit or entry (entries are listed in seq order)
_WITH_SEQ = frozenset({"visits", "incident_entries"})


def apply_projection(
    conn: sqlite3.Connection, event: dict[str, Any], local: dict[str, Any] | None = None
) -> None:
    """Apply one event's changes (`schemas.projection`) inside the event's transaction;
    `local`: the post's own columns of the row it inserts."""
    for change in changes(event):
        if isinstance(change, Insert):
            row = {**change.row, "seq": event["seq"]} if change.table in _WITH_SEQ else change.row
            sqlite.insert_row(conn, change.table, {**row, **local} if local else row)
        elif isinstance(change, Update):
            sqlite.update_row(conn, change.table, change.values, {"id": change.id})
        else:
            for start in range(0, len(change.seqs), 500):
                chunk = change.seqs[start : start + 500]
                marks = ",".join("?" * len(chunk))
                conn.execute(f"UPDATE events SET pii = NULL WHERE seq IN ({marks})", chunk)
                # the free text the named events put in incidents, entries, notes, doors
                named = conn.execute(
                    f"SELECT id, type, record_id FROM events WHERE seq IN ({marks})", chunk
                )
                clear_free_text(conn, named.fetchall(), change.at)
            cleared = ", ".join(f"{f} = NULL" for f in (*PURGED_VISIT_FIELDS, "id_hmac"))
            conn.execute(
                f"UPDATE visits SET {cleared}, purged_at = ?"
                " WHERE checked_in_at < ? AND purged_at IS NULL",
                (change.at, change.older_than),
            )
