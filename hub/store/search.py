"""Logbook search (trigrams over `search_lines`: `Engine.search`) and the audit log of who read or
exported personal data."""

from __future__ import annotations

import json
from typing import Any

from pydantic_core import from_json

from schemas.free_text import without_text
from schemas.ids import format_time, utc_now
from schemas.lines import summarise
from schemas.privacy import mask_id_numbers
from schemas.projection import PURGED_TEXT
from service.sqlite import and_where

from .base import StoreBase, site_filter

LINES_BATCH = 2000  # lines per transaction of the search-index thread: a short hold


class SearchAudit(StoreBase):
    """Reads of `search_lines`; the `audit` table."""

    def search(
        self,
        sites: list[str] | None,
        text: str,
        since: str | None = None,
        until: str | None = None,
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        """Logbook lines containing `text`, newest first, each with the record its event is
        about (`record_id`, and the `incident_id` or `visit_id` its data names) and the event's
        `data` and `pii` as stored (JSON text), for a page to word the line. Three
        characters or more use the trigram index; one or two (a two-character Chinese word)
        scan the lines instead."""
        sql = (
            "SELECT l.site, l.device, l.seq, l.at, l.type, l.summary, e.record_id, e.data, e.pii,"
            f" {self.db.json_text('e.data', 'incident_id')} AS incident_id,"
            f" {self.db.json_text('e.data', 'visit_id')} AS visit_id FROM search_lines l"
            " JOIN events e ON e.site = l.site AND e.device = l.device AND e.seq = l.seq"
        )
        text = text.replace("\x00", "")  # FTS5 ends a query string at a NUL: a 500 before
        if not text:
            return []
        owed = self.lines_lag()  # events acked by now are found: their lines first
        while owed > 0 and (written := self.write_lines(LINES_BATCH * 5)):
            owed -= written
        where, args = self.db.search(text)  # trigrams; one or two characters scan the lines
        sql += where
        sql, args = site_filter(sql, args, sites, "l.site")
        sql = and_where(sql, args, {"l.at >= ?": since, "l.at < ?": until})
        rows = self._read.execute(sql + " ORDER BY l.at DESC LIMIT ?", (*args, limit))
        return [_as_purged(dict(r)) for r in rows]

    def write_lines(self, most: int = LINES_BATCH) -> int:
        """Write the logbook lines of events ingest stored (`lines_pending`), whole batches
        until about `most` lines (`hub.search_index`, and a search before it reads); how many.
        Each post's lines are written under its ingest lock: never beside its purge."""
        ranges, count = [], 0
        for r in self._read.execute(
            "SELECT site, device, first_seq, last_seq FROM lines_pending LIMIT ?", (most,)
        ):
            if count >= most:
                break
            ranges.append(tuple(r))
            count += r["last_seq"] - r["first_seq"] + 1
        if not ranges:
            return 0
        written = 0
        with self.db.transaction(devices=[(r[0], r[1]) for r in ranges]) as conn:
            for site, device, first, last in ranges:
                taken = conn.execute(  # another hub process may have written them meanwhile
                    "DELETE FROM lines_pending WHERE site = ? AND device = ? AND first_seq = ?",
                    (site, device, first),
                ).rowcount
                if not taken:
                    continue
                events = conn.execute(
                    "SELECT seq, at, type, data, pii FROM events WHERE site = ? AND device = ?"
                    " AND seq >= ? AND seq <= ?",
                    (site, device, first, last),
                ).fetchall()
                conn.executemany(  # a purge may have written a line already, without names
                    "INSERT INTO search_lines (site, device, seq, at, type, summary)"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    [
                        (
                            site,
                            device,
                            e["seq"],
                            e["at"],
                            e["type"],
                            summarise(
                                e["type"],
                                from_json(e["data"]),
                                from_json(e["pii"]) if e["pii"] else None,
                            ),
                        )
                        for e in events
                    ],
                )
                written += len(events)
        return written

    def lines_lag(self) -> int:
        """Events whose logbook lines are not written yet."""
        row = self._read.execute(
            "SELECT COALESCE(SUM(last_seq - first_seq + 1), 0) FROM lines_pending"
        ).fetchone()
        return int(row[0])

    def index_search(self, most: int) -> int:
        """Add up to `most` new lines to the search index (`hub.search_index`); how many."""
        return self.db.index_search(most)

    def index_lag(self) -> int:
        """Lines not in the search index yet (a search scans them meanwhile)."""
        return self.db.search_lag()

    def search_lag(self) -> int:
        """Events a search finds a little more slowly for now: lines to write or to index."""
        return self.lines_lag() + self.index_lag()

    def audit(self, username: str, action: str, target: str) -> None:
        """Record that someone viewed or exported personal data. `target` (what they asked
        for, a search's words too) is kept with whatever looks like an ID number masked: the
        audit log must not become a list of the numbers people looked for."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO audit (at, username, action, target) VALUES (?, ?, ?, ?)",
                (format_time(utc_now()), username, action, mask_id_numbers(target)[:500]),
            )

    def audit_log(self, limit: int = 500) -> list[dict[str, Any]]:
        rows = self._read.execute(
            "SELECT at, username, action, target FROM audit ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [dict(r) for r in rows]


def _as_purged(line: dict[str, Any]) -> dict[str, Any]:
    """A line whose event kept a person's words in `data` (written before they moved to `pii`)
    and that a purge has summarised without them: its `data` without them too, so the page
    words it as removed (the stored event still holds them: the hash covers them)."""
    if line["pii"] is not None or line["type"] not in PURGED_TEXT:
        return line
    data = json.loads(line["data"])
    if summarise(line["type"], data, None) == line["summary"]:
        return line
    return {**line, "data": json.dumps(without_text(data), ensure_ascii=False)}
