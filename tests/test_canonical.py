"""The hash chain of CONTRACT section 4, pinned by the test vector integrators use."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.canonical import (
    GENESIS_HASH,
    batch_frame,
    canonical_event_text,
    canonical_json,
    canonical_text,
    canonical_text_floatless,
    chain_break,
    checked_event_hash,
    event_hash,
    pii_digest,
)
from schemas.export import drift
from schemas.messages import FLOATLESS

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_the_documented_test_vector_holds() -> None:
    vector = json.loads((DOCS / "test-vector.json").read_text(encoding="utf-8"))
    event = vector["event"]
    without = {k: v for k, v in event.items() if k not in ("hash", "pii")}
    assert canonical_json(without).decode() == vector["canonical"]
    assert canonical_json(event["pii"]).decode() == vector["pii_canonical"]
    assert pii_digest(event["pii"]) == vector["pii_digest"] == event["pii_digest"]
    assert event_hash(event) == vector["hash"] == event["hash"]
    # the page that explains the vector shows the same bytes and hashes
    page = (DOCS / "logbook.md").read_text(encoding="utf-8")
    for text in (vector["canonical"], vector["hash"], vector["pii_digest"]):
        assert text in page


def test_canonical_json_sorts_keys_and_keeps_chinese_unescaped() -> None:
    assert canonical_json({"b": 1, "a": {"z": None, "y": "大廈"}}) == (
        '{"a":{"y":"大廈","z":null},"b":1}'.encode()
    )


def test_purging_pii_keeps_the_hash_but_editing_it_breaks_the_digest() -> None:
    event = json.loads((DOCS / "test-vector.json").read_text(encoding="utf-8"))["event"]
    assert chain_break([event], GENESIS_HASH, 0) is None
    assert chain_break([{**event, "pii": None}], GENESIS_HASH, 0) is None
    edited_pii = {**event["pii"], "visitor_name": "Someone Else"}
    assert chain_break([{**event, "pii": edited_pii}], GENESIS_HASH, 0) == 1
    edited_data = {**event, "data": {**event["data"], "unit": "12B"}}
    assert chain_break([edited_data], GENESIS_HASH, 0) == 1
    assert chain_break([{**event, "seq": 2}], GENESIS_HASH, 0) == 1


def test_committed_json_schemas_match_the_models() -> None:
    assert drift() == [], "run: .venv/bin/python -m schemas.export"


def test_the_fast_hash_path_gives_the_same_bytes_as_the_generic_one() -> None:
    event = json.loads((DOCS / "test-vector.json").read_text(encoding="utf-8"))["event"]
    data_text = canonical_json(event["data"]).decode()
    assert event_hash(event, data_text) == event_hash(event) == event["hash"]
    assert checked_event_hash(event, data_text) == event["hash"]
    odd = {**event, "at": 'quote " and 中文 and \u2028', "pii_digest": None}
    odd_data = canonical_json(odd["data"]).decode()
    assert event_hash(odd, odd_data) == checked_event_hash(odd, odd_data) == event_hash(odd)


def test_events_sent_from_the_logbook_are_canonical_bytes(tmp_path: Path) -> None:
    from edge.logbook import Actor, Logbook, init_data_dir

    init_data_dir(tmp_path, "s", "d")
    book = Logbook(tmp_path)
    try:
        book.directory.import_now([{"unit": "12A", "intercom": "", "residents": ""}])
        book.writer.write(
            book.visits.register_work(
                {
                    "visitor_name": 'Quote " 陳 \u2028',
                    "unit": "12A",
                    "category": "guest",
                    "notes": "line\nbreak",
                },
                Actor("guard", "1"),
            )
        )
        book.writer.write(book.shift_notes.add_work("交更", Actor("guard", "1")))
        sent = book.sync.encoded_events_after(0)
        stored = book.sync.events_after(0)
    finally:
        book.close()
    assert [seq for seq, _ in sent] == [1, 2]
    assert [body for _, body in sent] == [canonical_json(event) for event in stored]


def test_a_batch_framed_around_encoded_events_is_the_canonical_json_of_the_batch() -> None:
    event = json.loads((DOCS / "test-vector.json").read_text(encoding="utf-8"))["event"]
    odd = {**event, "at": 'quote " and 中文 and \u2028', "pii": None, "pii_digest": None}
    events = [event, odd]
    encoded = [
        canonical_event_text(
            e["at"],
            canonical_json(e["data"]).decode(),
            e["id"],
            e["pii_digest"],
            e["prev_hash"],
            e["record_id"],
            e["seq"],
            e["type"],
            e["hash"],
            None if e["pii"] is None else canonical_json(e["pii"]).decode(),
        ).encode()
        for e in events
    ]
    assert encoded == [canonical_json(e) for e in events]
    for site, device, sent in (('大廈 "A"', "post\n1", encoded), ("s", "d", [])):
        batch = {"site": site, "device": device, "events": [json.loads(b) for b in sent]}
        assert batch_frame(site, device, sent) == canonical_json(batch)


# JSON values without floats, with every kind of character a post may send (not lone surrogates:
# they are not UTF-8), integers past 64 bits, and non-ASCII keys that sort differently by code
# point than by UTF-16
_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
_FLOATLESS_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | _TEXT,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_TEXT, inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None, database=None)
@given(_FLOATLESS_JSON)
def test_the_fast_canonical_text_is_the_same_text(value: Any) -> None:
    """The hub hashes float-free values with orjson: the bytes must be the standard ones, or
    an honest post would look tampered."""
    assert canonical_text_floatless(value) == canonical_text(value)


def test_only_event_types_without_floats_take_the_fast_way() -> None:
    assert "door.event" not in FLOATLESS  # duration_s is a float
    assert {"visit.registered", "incident.opened", "shift.note"} <= FLOATLESS
