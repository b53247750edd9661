"""A replacement post's logbook from the hub's copy (`guardpost-edge restore --from-hub`): the
events appended exactly as the hub holds them through the writer's one import path
(`Writer.append_given`: each must link to the head, with its own hash), every projection built
by the same changes as when they were first written, and `acked_seq` at the last of them, all
in one transaction: a restore is whole or leaves the data directory as `init` made it."""

from __future__ import annotations

import sqlite3
from typing import Any

from schemas.canonical import GENESIS_HASH, chain_break
from service import errors

from .family import Family, LogbookParts
from .sync_cursor import SyncCursor


class Restore(Family):
    """`book.restore`."""

    def __init__(self, book: LogbookParts, sync: SyncCursor) -> None:
        super().__init__(book)
        self.sync = sync

    def event_count(self) -> int:
        return int(self.book.reader.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def import_now(self, events: list[dict[str, Any]]) -> int:
        """Append the hub's `events` (seq 1 on, in order) to an empty logbook; the hub has
        them all, so they count as acked. The number appended."""
        bad = chain_break(events, GENESIS_HASH, 0)
        if bad is not None:
            raise errors.InvalidValue(f"the hub's copy breaks at seq {bad}; nothing was restored")

        def work(conn: sqlite3.Connection) -> int:
            if conn.execute("SELECT 1 FROM events LIMIT 1").fetchone():
                raise errors.AlreadyInitialised("the logbook already has events")
            for event in events:
                self.writer.append_given(conn, event)
            self.sync.set_acked(conn, len(events))
            return len(events)

        return self.writer.write(work)
