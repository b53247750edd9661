"""Fewer garbage collections for a process that allocates in bulk: the hub while it drains a
backlog, and its batch preparing process (`hub.preparing`).

A drain makes millions of short-lived dicts, strings and rows, and frees each by its reference
count; CPython's collector still walks the young ones every 700 allocations, looking for cycles
that are not there (about 7 % of a 100,000-event drain, `scripts/bench_sync.py` (b)). Here what
startup made is frozen (the modules, the app: never scanned again) and the young generation is
collected every `YOUNG_OBJECTS` allocations. Cycles are still collected, only less often.
"""

from __future__ import annotations

import gc

YOUNG_OBJECTS = 50_000  # CPython's default is 700
OLDER_EVERY = (20, 10)  # the middle generation every 20 young collections, the oldest every 10


def collect_less() -> None:
    """Freeze what the process holds now and collect its young objects less often."""
    gc.freeze()
    gc.set_threshold(YOUNG_OBJECTS, *OLDER_EVERY)
