"""Logbook search is built behind ingest (issue 19): ingest stores each event and acks; the
hub's search-index thread writes the events' lines and adds them to SQLite's trigram index
afterwards. A search finds a line at once whether it is written or indexed yet or not, never
twice, the index never holds a purged name, and how far it got survives a restart."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from hub.search_index import SearchIndexer
from hub.store import Store, init_store
from schemas.canonical import GENESIS_HASH
from schemas.ids import format_time, new_id, utc_now
from tests.bodies import chained_event

SITE, DEVICE = "harbour-view", "lobby-1"


def visits(names: list[str], first_seq: int, prev_hash: str) -> list[dict[str, Any]]:
    events = []
    for seq, name in enumerate(names, start=first_seq):
        data = {
            "unit": "12A",
            "category": "guest",
            "company": None,
            "purpose": None,
            "party_size": 1,
            "checked_in_at": format_time(utc_now()),
            "by": "guard:1001",
            "confirmation": {"status": "not_required", "request_id": None, "answered_at": None},
        }
        pii = {
            "salt": "00",
            "visitor_name": name,
            "id_number_masked": None,
            "phone": None,
            "vehicle_plate": None,
            "notes": None,
        }
        event = chained_event(
            seq, "visit.registered", format_time(utc_now()), new_id(), data, pii, prev_hash
        )
        events.append(event)
        prev_hash = event["hash"]
    return events


def ingest(store: Store, events: list[dict[str, Any]]) -> None:
    [result] = store.ingest([(SITE, DEVICE, {"site": SITE, "device": DEVICE, "events": events})])
    assert result.acked_seq == events[-1]["seq"]


def found(store: Store, text: str) -> list[int]:
    return sorted(line["seq"] for line in store.search(None, text))


def test_a_line_is_found_before_and_after_it_is_indexed_never_twice(tmp_path: Path) -> None:
    data = tmp_path / "hub"
    init_store(data)
    store = Store(data)
    first = visits(["金絲雀 Canary", "Wong Siu Ming", "金絲雀 Canary"], 1, GENESIS_HASH)
    ingest(store, first)
    assert store.search_lag() == 3
    assert found(store, "金絲雀") == [1, 3]  # three characters: the index and the lines after it
    assert found(store, "金絲") == [1, 3]  # two: a scan of the lines
    assert found(store, "canary") == [1, 3]

    indexer = SearchIndexer(store, batch=2)
    assert indexer.catch_up() == 3
    assert store.search_lag() == 0
    assert found(store, "金絲雀") == [1, 3]
    assert found(store, "Siu Ming") == [2]

    store.close()  # how far the index got is kept: a restart does not index a line twice
    store = Store(data)
    assert store.search_lag() == 0
    ingest(store, visits(["Canary Bird"], 4, first[-1]["hash"]))
    assert store.search_lag() == 1
    assert found(store, "canary") == [1, 3, 4]
    assert SearchIndexer(store).catch_up() == 1
    assert found(store, "canary") == [1, 3, 4]
    store.close()


def purge(seqs: list[int], seq: int, prev_hash: str) -> dict[str, Any]:
    data = {"older_than": format_time(utc_now()), "seqs": seqs, "visits": len(seqs), "by": "system"}
    return chained_event(seq, "pii.purged", format_time(utc_now()), new_id(), data, None, prev_hash)


def test_a_purged_name_is_not_found_wherever_its_line_was(tmp_path: Path) -> None:
    """A purge rewrites a line without the name: whether the index held the line already, the
    line waited for the index, or it was not written yet, the name is not found afterwards
    (nor once the thread has caught up) and the line's other words are."""
    data = tmp_path / "hub"
    init_store(data)
    store = Store(data)
    indexed = visits(["Indexed Person"], 1, GENESIS_HASH)
    ingest(store, indexed)
    SearchIndexer(store).catch_up()
    written = visits(["Written Person"], 2, indexed[-1]["hash"])
    ingest(store, written)
    store.write_lines()
    unwritten = visits(["Unwritten Person"], 3, written[-1]["hash"])
    ingest(store, unwritten)
    assert (store.lines_lag(), store.index_lag()) == (1, 1)
    ingest(store, [purge([1, 2, 3], 4, unwritten[-1]["hash"])])
    for _ in range(2):  # before the thread catches up, and after
        for name in ("Indexed Person", "Written Person", "Unwritten Person"):
            assert found(store, name) == []
        assert found(store, "12A") == [1, 2, 3]
        SearchIndexer(store).catch_up()
    assert store.search_lag() == 0
    store.close()


def test_lines_waiting_to_be_written_survive_a_restart_once_each(tmp_path: Path) -> None:
    data = tmp_path / "hub"
    init_store(data)
    store = Store(data)
    ingest(store, visits(["Harbour Pilot", "Night Courier"], 1, GENESIS_HASH))
    assert store.search_lag() == 2  # stored and acked; the lines come after
    store.close()  # as a kill would: nothing written but the events and what is owed
    store = Store(data)
    assert (store.lines_lag(), store.index_lag()) == (2, 0)
    assert SearchIndexer(store).catch_up() == 2
    assert store.search_lag() == 0
    assert found(store, "Courier") == [2]
    assert found(store, "Pilot") == [1]
    store.write_lines()  # nothing is owed twice
    assert store.db.read.execute("SELECT COUNT(*) FROM search_lines").fetchone()[0] == 2
    store.close()


def test_the_index_catches_up_while_ingest_is_busy_once_far_behind(tmp_path: Path) -> None:
    data = tmp_path / "hub"
    init_store(data)
    store = Store(data)
    ingest(store, visits(["A Person", "B Person", "C Person"], 1, GENESIS_HASH))
    # ingest never idles here, but a search must not scan an unbounded tail
    assert SearchIndexer(store, busy=lambda: True, most_behind=1, most_unwritten=1).catch_up() == 3
    assert store.search_lag() == 0
    store.close()


def test_the_index_keeps_its_bound_while_lines_are_owed_all_along(tmp_path: Path) -> None:
    """A long drain: while the thread writes lines, ingest stores more, so lines are owed at
    every turn. The lines are written and indexed in turns all the same: the index never falls
    further behind than its bound."""
    data = tmp_path / "hub"
    init_store(data)
    store = Store(data)
    last = visits(["Person 0"], 1, GENESIS_HASH)
    ingest(store, last)
    write_lines, behind = store.write_lines, []

    def writing_while_ingest_goes_on(most: int = 2000) -> int:
        nonlocal last
        written = write_lines(most)
        if len(behind) < 6:
            last = visits([f"Person {len(behind) + 1}"], last[-1]["seq"] + 1, last[-1]["hash"])
            ingest(store, last)
        behind.append(store.index_lag())
        return written

    store.write_lines = writing_while_ingest_goes_on  # type: ignore[method-assign]
    indexer = SearchIndexer(store, busy=lambda: True, most_behind=1, most_unwritten=1)
    assert indexer.catch_up() == 7
    assert max(behind) <= 2, behind  # the bound, and the lines of one turn
    assert store.search_lag() == 0
    store.close()


def test_a_writer_waiting_goes_before_the_ingest_worker_asking_again(tmp_path: Path) -> None:
    """The ingest worker asks for the write lock again the moment it lets go, group after group
    while a backlog lasts; the search index (and a supervisor's write) waiting for it goes
    first, every time, so the index keeps within its bound."""
    data = tmp_path / "hub"
    init_store(data)
    store = Store(data)
    order: list[str] = []
    for _ in range(5):
        holding = threading.Event()

        def waiting_writer(holding: threading.Event = holding) -> None:
            holding.wait(10)
            with store.db.transaction():
                order.append("the one waiting")

        other = threading.Thread(target=waiting_writer)
        other.start()
        with store.db.transaction():
            holding.set()
            time.sleep(0.1)  # the other writer now waits
        with store.db.transaction():  # at once, as the ingest worker does
            order.append("asked again")
        other.join(10)
    store.close()
    assert order == ["the one waiting", "asked again"] * 5
