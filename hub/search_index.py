"""The hub's search-index thread: it writes the logbook lines and fills SQLite's trigram index,
both behind ingest.

Ingest stores each batch of events, notes that their lines are owed (`lines_pending`) and acks.
This thread then writes the lines (`Store.write_lines`) and adds them to the trigram index
(`Store.index_search`) in batches, while ingest is idle (`Ingest.is_busy`: nothing waiting, no
backlog's group in the last half second), so that a backlog drains at the speed of storing the
events alone. Once `most_unwritten` events wait for their lines, or `most_behind` lines for the
index, it goes on with that one while ingest is busy too, in larger batches, taking turns with
ingest for the write lock, so that the lag comes back under its bound (a longer backlog drains
at the speed of ingest, lines and index together).

A search misses nothing meanwhile: it first writes the lines still owed (at most about
`MOST_UNWRITTEN` of them, about 0.9 s per 100,000) and finds the lines not yet indexed by
scanning them (`Engine.search`); how far behind both are shows on the overview. On PostgreSQL
the lines wait in the GIN index's pending list, which a search reads too, and the thread moves
them into the index while ingest is idle.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from .store import Store

log = logging.getLogger(__name__)
BATCH = 2000  # lines per transaction: a short hold of the write lock
MOST_BEHIND = 50_000  # index even while ingest is busy: a search scans at most this many
# write lines even while ingest is busy: a search writes at most this many first (a backlog of
# this many events, about 5 s of ingest, drains without them)
MOST_UNWRITTEN = 100_000
# lines per transaction while that far behind: more than a group of ingest adds (2 MiB, about
# 3,000 lines), so that the lag comes back under the bound while a long backlog drains (the
# write lock goes in turn, `hub.store.engine.TurnLock`: a group, then this many lines)
FAR_BEHIND_BATCH = 5 * BATCH


class SearchIndexer:
    def __init__(
        self,
        store: Store,
        busy: Callable[[], bool] = lambda: False,
        *,
        batch: int = BATCH,
        most_behind: int = MOST_BEHIND,
        most_unwritten: int = MOST_UNWRITTEN,
    ) -> None:
        self.store = store
        self.busy = busy  # ingest has batches waiting: let it have the write lock
        self.batch = batch
        self.most_behind = most_behind
        self.most_unwritten = most_unwritten
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="search-index", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def catch_up(self) -> int:
        """Write the logbook lines of every event stored so far and index every line, each
        yielding to a busy ingest until it is too far behind; how many lines it indexed."""
        done = 0
        while not self._stop.is_set():
            unwritten, unindexed = self.store.lines_lag(), self.store.index_lag()
            busy = self.busy()
            write_far = unwritten >= self.most_unwritten
            index_far = unindexed >= self.most_behind
            write = unwritten > 0 and (write_far or not busy)
            index = index_far or not busy  # idle: PostgreSQL's pending list too
            if not write and not index:
                if not unwritten and not unindexed:
                    break
                self._stop.wait(0.2)
                continue
            wrote = self.store.write_lines(self._most(write_far)) if write else 0
            indexed = self.store.index_search(self._most(index_far)) if index else 0
            done += indexed
            if not wrote and not indexed:  # all done, or another hub process has the lines
                break
        return done

    def _most(self, far: bool) -> int:
        return max(self.batch, FAR_BEHIND_BATCH) if far else self.batch

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self.catch_up()
            except Exception:  # the next round tries again; a search scans what is not indexed
                log.exception("indexing search lines failed")
