"""Every MQTT message from a post is untrusted input (issue 12, points 1, 2 and 5 at the hub):
malformed, deeply nested, huge and schema-breaking messages on every topic a post may publish
are refused and flag their device while every other post keeps syncing; a full disk at the hub
loses and doubles nothing; a dead worker fails /healthz and ends `serve`; a purge never clears
what is younger than retention by the hub's clock."""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from hub.app import create_app
from hub.settings import HubSettings
from hub.store import Store
from schemas.canonical import GENESIS_HASH, canonical_json, event_hash
from schemas.ids import format_time, new_id
from schemas.topics import ack_topic, down_topic, events_topic, status_topic
from tests.bodies import chained_event
from tests.conftest import both_engines
from tests.helpers import (
    HUB,
    Company,
    EdgeServer,
    HubServer,
    Tap,
    free_port,
    hub_query,
    key_values,
    run_edge,
    run_hub,
    tmpfs,
    wait_until,
)

SITE = "harbour-view"
NOW = datetime.now(UTC)


# ---- building a post's messages by hand ------------------------------------------------------


def visit_data(**change: Any) -> dict[str, Any]:
    return {
        "unit": "12A",
        "category": "guest",
        "company": None,
        "purpose": None,
        "party_size": 1,
        "checked_in_at": format_time(NOW),
        "by": "guard:1001",
        "confirmation": {"status": "not_required", "request_id": None, "answered_at": None},
        **change,
    }


def visit_pii(name: str = "Rogue Visitor") -> dict[str, Any]:
    return {
        "salt": "00",
        "visitor_name": name,
        "id_number_masked": None,
        "phone": "5555 0000",
        "vehicle_plate": None,
        "notes": None,
    }


# JSON nested deeper than any parser should follow, and JSON that is not an object: junk for any
# topic
NESTED_OR_NOT_AN_OBJECT = [
    b"[" * 5000 + b"]" * 5000,
    b'{"a":' * 5000 + b"1" + b"}" * 5000,
    b"[]",
    b"null",
]


def chain(
    *specs: tuple[str, dict[str, Any], dict[str, Any] | None],
    start: int = 1,
    prev: str = GENESIS_HASH,
    at: str | None = None,
) -> list[dict[str, Any]]:
    """Events with a valid hash chain (anyone can compute one: it proves order, not origin)."""
    events = []
    for n, (kind, data, pii) in enumerate(specs):
        event = chained_event(start + n, kind, at or format_time(NOW), new_id(), data, pii, prev)
        prev = event["hash"]
        events.append(event)
    return events


def batch(device: str, events: list[dict[str, Any]], site: str = SITE) -> bytes:
    return canonical_json({"site": site, "device": device, "events": events})


def deep(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


def events_cases(device: str) -> list[bytes]:
    """What a rogue post (its own broker login) publishes on its `events` topic."""
    rng = random.Random(12)
    good = chain(("visit.registered", visit_data(), visit_pii()))[0]

    def with_event(**change: Any) -> bytes:  # a valid chain, then one field broken
        event = {k: v for k, v in {**good, **change}.items() if k != "hash"}
        event["hash"] = event_hash(event)
        return batch(device, [event])

    def with_data(kind: str, data: dict[str, Any], pii: dict[str, Any] | None = None) -> bytes:
        return batch(device, chain((kind, data, pii)))

    return [
        # not JSON at all, or not UTF-8
        b"",
        b"{",
        b"not json",
        b"\x00" * 64,
        b"\xff\xfe\xfd",
        rng.randbytes(4096),
        b'{"site": "' + rng.randbytes(200) + b'"}',
        # deeply nested: the 10 KB of brackets, objects, and nesting inside an event
        b"[" * 5000 + b"]" * 5000,
        b'{"a":' * 5000 + b"1" + b"}" * 5000,
        b"[" * 200_000,
        batch(device, [{**good, "data": {"unit": deep(600)}}]),
        batch(device, [{**good, "pii": {"salt": deep(400)}}]),
        # huge: over 256 KiB (the broker's packet limit is 300,000 bytes)
        canonical_json({"site": SITE, "device": device, "events": [], "pad": "x" * 270_000}),
        batch(device, chain(("shift.note", {"text": "長" * 90_000, "by": "guard:1001"}, None))),
        # JSON, but not a batch
        b"[]",
        b'"events"',
        b"42",
        b"null",
        b"true",
        b"{}",
        json.dumps({"site": SITE, "device": device, "events": {}}).encode(),
        json.dumps({"site": SITE, "device": device, "events": [1, "x", None]}).encode(),
        json.dumps({"site": SITE, "device": "someone-else", "events": [good]}).encode(),
        json.dumps({"site": SITE, "device": device, "events": [good], "extra": 1}).encode(),
        b'{"site": "harbour-view", "device": "' + device.encode() + b'", "events": [NaN]}',
        # wrong types in the envelope, each with a valid hash
        with_event(seq="1"),
        with_event(seq=True),
        with_event(seq=1.0),
        with_event(seq=0),
        with_event(seq=2**70),
        with_event(id=None),
        with_event(at="yesterday"),
        with_event(at="2026-11-30T10:00:00"),
        with_event(at="9999-12-31T23:59:59.000+00:00"),
        with_event(data=[1, 2]),
        with_event(data="x"),
        with_event(prev_hash=1),
        with_event(pii="Rogue Visitor"),
        with_event(type=5),
        with_event(surplus="x"),
        batch(device, [{k: v for k, v in good.items() if k != "record_id"}]),
        # unknown event types, with a valid chain
        with_data("visit.teleported", {"by": "guard:1001"}),
        with_data("", {}),
        # schema-breaking data with a valid chain
        with_data(
            "visit.registered", {k: v for k, v in visit_data().items() if k != "unit"}, visit_pii()
        ),
        with_data("visit.registered", visit_data(surplus="x"), visit_pii()),
        with_data("visit.registered", visit_data(category="alien"), visit_pii()),
        with_data("visit.registered", visit_data(party_size="2"), visit_pii()),
        with_data("visit.registered", visit_data(party_size=True), visit_pii()),
        with_data("visit.registered", visit_data(unit=["12A"]), visit_pii()),
        with_data("visit.registered", visit_data(confirmation=None), visit_pii()),
        with_data("visit.registered", visit_data(checked_in_at="soon"), visit_pii()),
        with_data(
            "visit.registered",
            visit_data(checked_in_at="2026-02-30T10:00:00.000+00:00"),
            visit_pii(),
        ),
        with_data("visit.registered", visit_data(), {**visit_pii(), "id_number": "A1234567"}),
        with_data("visit.registered", visit_data(), {"salt": "00"}),
        with_data("visit.checked_out", {"by": "guard:1001"}),
        with_data(
            "visit.checkout_undone",
            {"checked_out_at": format_time(NOW), "checkout_seq": "1", "by": "guard:1001"},
        ),
        with_data(
            "door.event",
            {
                "door": "lobby",
                "kind": "teleport",
                "reason": None,
                "visit_id": None,
                "occurred_at": format_time(NOW),
                "by": "guard:1001",
            },
        ),
        with_data("incident.opened", {"title": "no category"}),
        with_data("incident.status", {"status": "bogus", "previous": "open", "by": "x"}),
        with_data("incident.entry", {"incident_id": None, "kind": "note", "text": "x", "by": "x"}),
        with_data("shift.note", {"text": "note", "by": "guard:1001"}, visit_pii()),
        with_data(
            "pii.purged",
            {"older_than": format_time(NOW), "seqs": ["a"], "visits": 1, "by": "system"},
        ),
        with_data(
            "pii.purged",
            {"older_than": format_time(NOW), "seqs": deep(50), "visits": 1, "by": "system"},
        ),
        with_data("watchlist.applied", {"version": "2", "entries": 1, "by": "hub:watchlist"}),
        # a valid first event, then one whose chain does not link
        batch(
            device, [good, {**chain(("shift.note", {"text": "x", "by": "g"}, None), start=2)[0]}]
        ),
    ]


def status_cases() -> list[bytes]:
    """What a rogue post publishes, retained, on its `status` topic."""
    base = {
        "online": True,
        "last_seq": 3,
        "acked_seq": 0,
        "backlog": 3,
        "clock": format_time(NOW),
        "version": "0.1.0",
    }
    return [
        b"{",
        b"\xff\xfe",
        random.Random(5).randbytes(2048),
        *NESTED_OR_NOT_AN_OBJECT,
        b'"online"',
        b"1",
        json.dumps({**base, "pad": "x" * 20_000}).encode(),
        json.dumps({**base, "online": "yes"}).encode(),
        json.dumps({**base, "last_seq": 2**70}).encode(),
        json.dumps({**base, "last_seq": -5}).encode(),
        json.dumps({**base, "last_seq": "3"}).encode(),
        json.dumps({**base, "clock": "garbage"}).encode(),
        json.dumps({**base, "clock": "0001-01-01T00:00:00+14:00"}).encode(),
        json.dumps({**base, "version": "v" * 5000}).encode(),
        json.dumps({**base, "version": deep(300)}).encode(),
        json.dumps({k: v for k, v in base.items() if k != "online"}).encode(),
        # the last one stays retained: the hub meets it again after every restart
        b"[" * 5000 + b"]" * 5000,
    ]


def provision(company: Company, device: str) -> dict[str, str]:
    """A post's broker account (no post behind it: the test publishes as that post)."""
    result = run_hub(
        "provision-device", "--data", str(company.hub_data), "--site", SITE, "--device", device
    )
    assert result.returncode == 0, result.stderr
    if company.broker.proc is not None:
        company.broker.reload()
    return key_values(result.stdout)


def hub_rows(company: Company, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    return hub_query(company.hub_data, sql, *args)


def device_state(company: Company, device: str) -> tuple[int, int, str | None]:
    rows = hub_rows(
        company,
        "SELECT acked_seq, tampered, tampered_reason FROM devices WHERE site = ? AND device = ?",
        SITE,
        device,
    )
    return rows[0] if rows else (0, 0, None)  # type: ignore[return-value]


def edge_events(post: EdgeServer) -> list[tuple[int, str]]:
    conn = sqlite3.connect(post.data / "guardpost.db")
    try:
        return [(r[0], r[1]) for r in conn.execute("SELECT seq, hash FROM events ORDER BY seq")]
    finally:
        conn.close()


def hub_events(company: Company, device: str) -> list[tuple[int, str]]:
    return [
        (r[0], r[1])
        for r in hub_rows(
            company,
            "SELECT seq, hash FROM events WHERE site = ? AND device = ? ORDER BY seq",
            SITE,
            device,
        )
    ]


def sync_state(post: EdgeServer) -> dict[str, Any]:
    with post.client(post.token()) as api:
        return dict(api.get("/sync").json())


def register(post: EdgeServer, name: str) -> None:
    with post.client(post.login()) as api:
        answer = api.post(
            "/visits", json={"visitor_name": name, "unit": "12A", "category": "guest"}
        )
        assert answer.status_code == 201, answer.text


def all_acked(post: EdgeServer) -> bool:
    state = sync_state(post)
    return bool(state["connected"] and state["last_seq"] > 0 and state["backlog"] == 0)


# ---- one bad batch in a group -----------------------------------------------------------------


@both_engines
def test_one_bad_batch_in_a_group_does_not_sink_the_others(company: Company) -> None:
    """Projecting a batch that passed its chain check fails: only that batch is refused."""
    store = Store(company.hub_data)
    try:
        good = chain(("visit.registered", visit_data(), visit_pii("Good Visitor")))
        bad = chain(
            (
                "visit.registered",
                {k: v for k, v in visit_data().items() if k != "unit"},
                visit_pii(),
            )
        )
        results = store.ingest(
            [
                ("harbour-view", "rogue", {"site": SITE, "device": "rogue", "events": bad}),
                ("harbour-view", "lobby-1", {"site": SITE, "device": "lobby-1", "events": good}),
            ]
        )
        assert [(r.device, r.acked_seq, r.stored, r.rejected) for r in results] == [
            ("rogue", 0, 0, "batch could not be applied (KeyError)"),
            ("lobby-1", 1, 1, None),
        ]
    finally:
        store.close()
    assert hub_events(company, "lobby-1") == [(1, good[0]["hash"])]
    assert hub_events(company, "rogue") == []
    assert device_state(company, "rogue") == (0, 1, "batch could not be applied (KeyError)")
    assert hub_rows(company, "SELECT visitor_name FROM visits") == [("Good Visitor",)]


@both_engines
def test_a_batch_the_database_refuses_is_refused_alone_and_the_group_goes_on(
    company: Company,
) -> None:
    """The database itself refuses a batch's projection (a visit without a unit breaks NOT
    NULL); on PostgreSQL that error comes back only at the end of the batch's pipeline. That
    batch alone is refused, nothing of it is kept, and the batches after it in the group are
    stored."""
    store = Store(company.hub_data)
    try:
        good = chain(("visit.registered", visit_data(), visit_pii("Good Visitor")))
        bad = chain(
            ("visit.registered", visit_data(), visit_pii("Kept Visitor")),
            ("visit.registered", visit_data(unit=None), visit_pii("Refused Visitor")),
        )
        results = store.ingest(
            [
                ("harbour-view", "rogue", {"site": SITE, "device": "rogue", "events": bad}),
                ("harbour-view", "lobby-1", {"site": SITE, "device": "lobby-1", "events": good}),
            ]
        )
        refused, stored = results
        assert (refused.device, refused.acked_seq, refused.stored) == ("rogue", 0, 0)
        assert refused.rejected is not None
        assert refused.rejected.startswith("batch could not be applied")
        assert (stored.device, stored.acked_seq, stored.stored, stored.rejected) == (
            "lobby-1",
            1,
            1,
            None,
        )
    finally:
        store.close()
    assert hub_events(company, "rogue") == []
    assert device_state(company, "rogue")[:2] == (0, 1)
    assert hub_rows(company, "SELECT visitor_name FROM visits") == [("Good Visitor",)]


# ---- the MQTT fuzz test ----------------------------------------------------------------------


def test_fuzzed_messages_from_a_rogue_post_stop_nobody(company: Company) -> None:
    rogue = provision(company, "rogue")
    post, hub = company.start_with_post(SITE)
    wait_until(lambda: sync_state(post)["connected"], 30, "the post to connect")
    tap = Tap(company, rogue["username"], rogue["password"])
    try:
        for payload in events_cases("rogue"):
            tap.publish(events_topic(SITE, "rogue"), payload)
        for payload in status_cases():
            tap.client.publish(
                status_topic(SITE, "rogue"), payload, qos=1, retain=True
            ).wait_for_publish(timeout=5)
        register(post, "Good Visitor")
        # another post's batch is stored and acked within 5 s of the fuzz
        wait_until(lambda: all_acked(post), 5, "the good post's batch to be acked")
        assert hub_events(company, "lobby-1") == edge_events(post)
        assert httpx.get(f"{hub.url}/healthz", timeout=5).json() == {"ok": True}
        acked, tampered, reason = device_state(company, "rogue")
        assert (acked, tampered) == (0, 1), reason
        assert hub_events(company, "rogue") == []
        with hub.client() as api:
            devices = {d["device"]: d for d in api.get("/devices").json()["devices"]}
        assert (devices["rogue"]["tampered"], devices["lobby-1"]["tampered"]) == (True, False)
        # the retained bad status meets the hub again after a restart: it lives and ingests
        hub.stop()
        hub.start()
        register(post, "Second Visitor")
        wait_until(lambda: all_acked(post), 30, "the post's second batch to be acked")
        assert hub_events(company, "lobby-1") == edge_events(post)
        assert httpx.get(f"{hub.url}/healthz", timeout=5).json() == {"ok": True}
        assert hub.proc is not None and hub.proc.poll() is None
        log = hub.output()
        assert "Rogue Visitor" not in log and "5555 0000" not in log  # no personal data logged
    finally:
        tap.client.publish(status_topic(SITE, "rogue"), b"", qos=1, retain=True)
        tap.close()


def test_junk_on_a_posts_ack_and_down_topics_does_not_stop_its_sync(company: Company) -> None:
    post, hub = company.start_with_post(SITE)
    register(post, "First Visitor")
    wait_until(lambda: all_acked(post), 30, "the first visit to be acked")
    tap = Tap(company, company.hub_account["username"], company.hub_account["password"])
    junk = [
        b"{",
        b"\xff",
        *NESTED_OR_NOT_AN_OBJECT,
        b'{"acked_seq": "9"}',
        b'{"acked_seq": true}',
        b'{"acked_seq": -1}',
        b'{"acked_seq": 1e400}',
        b'{"acked_seq": ' + b"9" * 40 + b"}",
        b'{"acked_seq": 1, "pad": "' + b"x" * 270_000 + b'"}',
        json.dumps({"type": "watchlist", "device": "lobby-1", "entries": deep(150)}).encode(),
        json.dumps({"type": "incident.entry", "device": "lobby-1", "id": 5}).encode(),
        json.dumps({"type": "watchlist", "device": "lobby-1", "version": "x"}).encode(),
    ]
    try:
        for payload in junk:
            tap.publish(ack_topic(SITE, "lobby-1"), payload)
            tap.publish(down_topic(SITE), payload)
        register(post, "Second Visitor")
        wait_until(lambda: all_acked(post), 30, "the second visit to be acked")
        assert hub_events(company, "lobby-1") == edge_events(post)
        assert sync_state(post)["acked_seq"] == len(edge_events(post))
    finally:
        tap.close()


# ---- a dead worker ---------------------------------------------------------------------------


def test_a_hub_whose_broker_refuses_it_fails_healthz_and_serve_exits(company: Company) -> None:
    """Refused credentials end paho's network thread: nothing will be ingested again, so the
    hub must not answer as if all were well."""
    company.broker.start()
    wrong = company.broker.url(company.hub_account["username"], "not-the-password")
    app = create_app(HubSettings(data=company.hub_data, broker=wrong))
    server = uvicorn.Server(uvicorn.Config(app, port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()  # the hub in this process: its /healthz while the network thread is gone
    try:
        url = f"http://127.0.0.1:{server.config.port}/healthz"
        wait_until(lambda: server.started, 20, "the in-process hub to start")
        answer = wait_until(
            lambda: (r := httpx.get(url, timeout=5)).status_code == 503 and r,
            20,
            "/healthz to fail",
        )
        assert answer.json() == {"ok": False, "stopped": ["mqtt"]}
    finally:
        server.should_exit = True
        thread.join(timeout=20)
    port = free_port()
    proc = subprocess.run(
        [HUB, "serve", "--data", str(company.hub_data), "--port", str(port), "--broker", wrong],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        "Error: the hub's mqtt worker stopped; exiting so that the service manager restarts the hub"
    )


# ---- purge: the hub judges age by its own clock ----------------------------------------------


@both_engines
def test_a_purge_of_records_younger_than_retention_is_stored_but_spares_them(
    company: Company,
) -> None:
    """A post with its clock a year ahead purges a visit made a minute ago: the hub keeps the
    event (the chain stays whole), clears only what is older than its retention floor (1 day
    by default), flags the post, and clears the rest once it is old enough."""
    account = provision(company, "lobby-9")
    hub = company.start_hub()
    old_at = format_time(NOW - timedelta(days=40))
    events = chain(
        ("visit.registered", visit_data(checked_in_at=old_at), visit_pii("Old One")), at=old_at
    )
    events += chain(
        ("visit.registered", visit_data(), visit_pii("New One")), start=2, prev=events[-1]["hash"]
    )
    ahead = format_time(NOW + timedelta(days=365))
    events += chain(
        ("pii.purged", {"older_than": ahead, "seqs": [1, 2], "visits": 2, "by": "system"}, None),
        start=3,
        prev=events[-1]["hash"],
    )
    tap = Tap(
        company, account["username"], account["password"], topics=[ack_topic(SITE, "lobby-9")]
    )
    try:
        tap.publish(events_topic(SITE, "lobby-9"), batch("lobby-9", events))
        wait_until(lambda: tap.messages, 20, "the hub's ack")
        assert [json.loads(p) for t, p in tap.messages] == [{"acked_seq": 3}]
    finally:
        tap.close()
    assert hub_events(company, "lobby-9") == [(e["seq"], e["hash"]) for e in events]
    names = hub_rows(
        company,
        "SELECT visitor_name, phone FROM visits WHERE device = 'lobby-9' ORDER BY checked_in_at",
    )
    assert names == [(None, None), ("New One", "5555 0000")]
    pii = hub_rows(
        company,
        "SELECT seq, CASE WHEN pii IS NULL THEN 1 ELSE 0 END FROM events"
        " WHERE device = 'lobby-9' ORDER BY seq",
    )
    assert pii == [(1, 1), (2, 0), (3, 1)]
    acked, tampered, reason = device_state(company, "lobby-9")
    assert tampered == 1 and reason is not None
    assert reason.startswith("purge of records younger than retention: applied to records before ")
    # later (here: a hub told to keep records 0 days), the deferred purge is applied in full
    hub.stop()
    hub.env.update(GUARDPOST_HUB_MIN_RETENTION_DAYS="0", GUARDPOST_HUB_RESEND_DOWN_S="0.2")
    hub.start()
    wait_until(
        lambda: hub_rows(company, "SELECT COUNT(*) FROM pending_purges") == [(0,)],
        20,
        "the deferred purge to be applied",
    )
    assert hub_rows(company, "SELECT visitor_name, phone FROM visits WHERE device = 'lobby-9'") == [
        (None, None),
        (None, None),
    ]
    assert hub_rows(company, "SELECT COUNT(*) FROM events WHERE pii IS NOT NULL") == [(0,)]


def test_a_posts_purge_older_than_0_days_leaves_todays_names_at_the_hub(company: Company) -> None:
    post, hub = company.start_with_post(SITE)
    register(post, "Fresh Visitor")
    wait_until(lambda: all_acked(post), 30, "the visit to reach the hub")
    assert run_edge("purge", "--data", str(post.data), "--older-than", "0").returncode == 0
    wait_until(
        lambda: device_state(company, "lobby-1")[0] == len(edge_events(post)),
        30,
        "the purge to reach the hub",
    )
    assert hub_events(company, "lobby-1") == edge_events(post)
    assert hub_rows(company, "SELECT visitor_name FROM visits") == [("Fresh Visitor",)]
    assert device_state(company, "lobby-1")[1] == 1


# ---- a full disk at the hub ------------------------------------------------------------------


@pytest.fixture
def hub_on_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """tmp_path/hub on an 8 MiB tmpfs (root only: CI runs as root)."""
    with tmpfs(tmp_path / "hub", "8m") as mount:
        yield mount


def fill(mount: Path) -> Path:
    filler = mount / "filler"
    with filler.open("wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return filler


def test_a_full_disk_at_the_hub_acks_nothing_and_loses_nothing(
    tmp_path: Path, hub_on_tmpfs: Path
) -> None:
    company = Company(tmp_path)  # the hub's data lives on the tmpfs
    assert company.hub_data == hub_on_tmpfs
    post = company.add_post(SITE, "lobby-1")
    hub: HubServer | None = None
    try:
        company.broker.start()
        hub = company.hub().start()
        post.start()
        register(post, "Before Full")
        wait_until(lambda: all_acked(post), 30, "the first visit to be acked")
        acked_before = sync_state(post)["acked_seq"]
        # the hub copies its WAL into the file as it goes, and SQLite writes over a WAL's
        # copied frames: empty the WAL, so that no room is left in it either
        hub_rows(company, "PRAGMA wal_checkpoint(TRUNCATE)")
        filler = fill(hub_on_tmpfs)
        for n in range(3):
            register(post, f"While Full {n}")
        resends = post.output().count("no ack in time; resending")
        # the post resends after 10 s without an ack: by then the hub has tried and failed
        wait_until(
            lambda: post.output().count("no ack in time; resending") > resends,
            40,
            "the post to resend for want of an ack",
        )
        state = sync_state(post)
        assert (state["acked_seq"], state["backlog"]) == (acked_before, 3)
        # a full disk is the hub's trouble, not the batch's: no rejection, no flag
        assert device_state(company, "lobby-1")[1:] == (0, None)
        assert hub.proc is not None and hub.proc.poll() is None
        assert httpx.get(f"{hub.url}/healthz", timeout=5).json() == {"ok": True}
        filler.unlink()
        wait_until(lambda: all_acked(post), 60, "the backlog to be acked once there is room")
        assert hub_events(company, "lobby-1") == edge_events(post)
        names = sorted(r[0] for r in hub_rows(company, "SELECT visitor_name FROM visits"))
        assert names == ["Before Full", "While Full 0", "While Full 1", "While Full 2"]
        assert device_state(company, "lobby-1")[1:] == (0, None)
    finally:
        company.stop_all(*([hub] if hub else []))
