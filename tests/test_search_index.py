"""Logbook search is indexed behind ingest (issue 19): ingest stores each event's line and
acks; the hub's search-index thread adds lines to SQLite's trigram index afterwards. A search
finds a line at once whether it is indexed yet or not, never twice, the index never holds a
purged name, and how far it got survives a restart."""

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


def test_a_changed_line_leaves_no_old_words_in_the_index(tmp_path: Path) -> None:
    """A purge rewrites a line without the name: whether the index held the line already or
    takes it only afterwards, the name is not found and the new words are."""
    data = tmp_path / "hub"
    init_store(data)
    store = Store(data)
    first = visits(["Indexed Person"], 1, GENESIS_HASH)
    ingest(store, first)
    SearchIndexer(store).catch_up()
    ingest(store, visits(["Waiting Person"], 2, first[-1]["hash"]))
    assert store.search_lag() == 1
    with store.transaction() as conn:
        conn.execute("UPDATE search_lines SET summary = 'Visitor (name removed)'")
    SearchIndexer(store).catch_up()
    assert found(store, "Person") == []
    assert found(store, "name removed") == [1, 2]
    store.close()


def test_the_index_catches_up_while_ingest_is_busy_once_far_behind(tmp_path: Path) -> None:
    data = tmp_path / "hub"
    init_store(data)
    store = Store(data)
    ingest(store, visits(["A Person", "B Person", "C Person"], 1, GENESIS_HASH))
    # ingest never idles here, but a search must not scan an unbounded tail
    assert SearchIndexer(store, busy=lambda: True, most_behind=1).catch_up() == 3
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
