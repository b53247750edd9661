"""A hub with hundreds of posts waiting stores a share of each post's batch per turn and acks
it, so every post sees progress before its ack timeout (`hub.pacing`, issue 19); a hub that
keeps up stores every batch whole."""

from __future__ import annotations

from pathlib import Path

from hub.pacing import LEAST, ROUND_S, Pacer, Taken
from hub.preparing import Arrived
from hub.store import Store, init_store
from schemas.canonical import GENESIS_HASH, canonical_json
from schemas.prepared import Prepared, prepare
from tests.test_search_index import DEVICE, SITE, visits


def batch(first_seq: int, count: int, prev_hash: str) -> Taken:
    events = visits([f"訪客{n}" for n in range(count)], first_seq, prev_hash)
    raw = canonical_json({"device": DEVICE, "events": events, "site": SITE})
    prepared = prepare(raw)
    assert isinstance(prepared, Prepared)
    return (SITE, DEVICE, Arrived(raw), prepared)


def seqs(taken: list[Taken]) -> list[tuple[int, int]]:
    spans = []
    for _, _, _, payload in taken:
        assert isinstance(payload, Prepared)
        events = payload.batch["events"]
        spans.append((events[0]["seq"], events[-1]["seq"]))
    return spans


def test_with_hundreds_waiting_a_batch_is_stored_in_growing_acked_parts(tmp_path: Path) -> None:
    """200 posts wait at a hub storing 4,000 events/s: a round of whole batches (300 visits,
    256 KiB) would take 15 s, past a post's 10 s ack timeout. A post's first turn stores 80
    events (every post served within ROUND_S), then 160, then whole batches; each part is
    stored and acked in seq order, and its next batch waits behind the rest of this one."""
    pacer = Pacer()
    pacer.measured(4000, 1.0)
    first = batch(1, 300, GENESIS_HASH)
    assert isinstance(first[3], Prepared)
    second = batch(301, 300, first[3].batch["events"][-1]["hash"])
    init_store(tmp_path / "hub")
    store = Store(tmp_path / "hub")
    queue, acked, turns = [first, second], [], []
    try:
        while queue:
            now, later = pacer.portion(queue, posts=200)
            turns.append(seqs(now))
            results = store.ingest([(s, d, payload) for s, d, _, payload in now])
            acked.append([r.acked_seq for r in results])
            queue = later
        events = store.count_events()
    finally:
        store.close()
    share = int(4000 * ROUND_S / 200)
    assert share == 80 >= LEAST
    assert turns == [
        [(1, 80)],  # the second batch waits behind the rest of the first
        [(81, 240)],
        [(241, 300), (301, 560)],  # 320 in all
        [(561, 600)],  # then whole batches
    ]
    assert acked == [[80], [240], [300, 560], [600]] and events == 600


def test_a_hub_that_keeps_up_stores_every_batch_whole_and_a_post_back_online_starts_over() -> None:
    pacer = Pacer()
    group = [batch(1, 300, GENESIS_HASH)]
    assert pacer.portion(group, posts=200) == (group, [])  # no rate measured yet: whole
    pacer.measured(25_000, 1.0)  # SQLite: 50 posts x 300 events is 0.6 s a round
    assert pacer.portion(group, posts=50) == (group, [])
    pacer.measured(1_000, 1.0)  # slower now (EWMA 20,200 events/s): 400 posts, 5.9 s a round
    now, later = pacer.portion(group, posts=400)
    assert seqs(now) == [(1, 202)] and seqs(later) == [(203, 300)]
    pacer.forget((SITE, DEVICE))  # it came online again: its share starts over, not 404
    again, _ = pacer.portion(group, posts=400)
    assert seqs(again) == [(1, 202)]
