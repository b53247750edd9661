"""The hub's search-index thread: it fills SQLite's trigram index behind ingest.

Ingest writes each event's logbook line (`search_lines`) in the transaction that stores the
event, and acks; the trigram index is the expensive part of a line (about a third of ingest's
time per event), so this thread adds lines to it in batches, while ingest is idle, or at once
when it has fallen `most_behind` lines behind: then in larger batches, taking turns with ingest
for the write lock, so that the lag comes back under the bound (ingest is slower meanwhile: a
backlog of more than that many events drains at the speed of ingest and index together). A
search finds the lines not yet indexed by scanning them (`Engine.search`), so nothing is missing
from a search meanwhile; how far behind the index is shows on the overview. On PostgreSQL the
lines wait in the GIN index's pending list, which a search reads too, and the thread moves them
into the index while ingest is idle.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from .store import Store

log = logging.getLogger(__name__)
BATCH = 2000  # lines per transaction: a short hold of the write lock
MOST_BEHIND = 50_000  # index even while ingest is busy: a search scans at most this many
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
    ) -> None:
        self.store = store
        self.busy = busy  # ingest has batches waiting: let it have the write lock
        self.batch = batch
        self.most_behind = most_behind
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="search-index", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def catch_up(self) -> int:
        """Index every line written so far, yielding to a busy ingest; how many."""
        done = 0
        while not self._stop.is_set():
            behind = self.store.search_lag()
            if self.busy() and behind < self.most_behind:
                if not behind:
                    break
                self._stop.wait(0.2)
                continue
            most = self.batch if behind < self.most_behind else max(self.batch, FAR_BEHIND_BATCH)
            indexed = self.store.index_search(most)
            done += indexed
            if not indexed:
                break
        return done

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self.catch_up()
            except Exception:  # the next round tries again; a search scans what is not indexed
                log.exception("indexing search lines failed")
