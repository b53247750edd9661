"""Sync through faults, with a real Mosquitto, hub and posts: kill -9 of each part in the middle
of a drain, duplicates and reordering, a forged batch, another device's topic, a long hub outage.
After each, the hub holds exactly the post's events: nothing lost, nothing doubled."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from edge.logbook import Actor, Logbook
from edge.sync import WINDOW, Sync
from schemas.canonical import canonical_json, event_hash
from schemas.topics import ack_topic, events_topic
from tests.conftest import both_engines
from tests.helpers import Company, EdgeServer, HubServer, Tap, hub_query, run_edge, wait_until
from tests.test_sync import edge_events, hub_events, synced

SITE, DEVICE = "harbour-view", "lobby-1"
NOTE = "巡樓記錄：" + "各層走廊、後樓梯、天台門已檢查，一切正常。" * 12  # about 1 KiB a note


def append_notes(post: EdgeServer, count: int) -> None:
    """Write `count` shift notes straight into a stopped post's logbook (the same append the API
    uses, many per transaction, to build a backlog in a second)."""
    book = Logbook(post.data)
    try:
        by = Actor("guard", "1001")
        for start in range(0, count, 1000):
            works = [
                book.shift_notes.add_work(f"{NOTE} #{n}", by)
                for n in range(start, min(count, start + 1000))
            ]
            book.writer.write(lambda conn, works=works: [work(conn) for work in works])
    finally:
        book.close()


def hub_count(company: Company, site: str = SITE, device: str = DEVICE) -> int:
    try:
        rows = hub_query(
            company.hub_data,
            "SELECT COUNT(*) FROM events WHERE site = ? AND device = ?",
            site,
            device,
        )
    except sqlite3.OperationalError:  # locked by the hub a moment too long
        return 0
    return int(rows[0][0]) if rows else 0


def hub_rows(company: Company) -> list[tuple[Any, ...]]:
    return hub_query(company.hub_data, "SELECT * FROM events ORDER BY site, device, seq")


def mid_drain(company: Company, total: int) -> int:
    """Wait until the hub holds some but not all of the post's events; how many."""
    return wait_until(
        lambda: (lambda n: n if 0 < n < total else 0)(hub_count(company)),
        30,
        "the hub to be in the middle of the drain",
    )


def assert_exactly_the_posts_events(company: Company, post: EdgeServer) -> None:
    wait_until(lambda: synced(post), 60, "the post to drain")
    assert hub_events(company, SITE, DEVICE) == edge_events(post)


def start_world(company: Company, notes: int) -> tuple[EdgeServer, HubServer]:
    post = company.add_post(SITE, DEVICE)
    append_notes(post, notes)
    hub = company.start_hub()
    return post, hub


# ---- kill -9 in the middle of a drain --------------------------------------------------------


def kill_9_mid_drain(company: Company, victim: str, pause_s: float = 0.0) -> EdgeServer:
    """20,000 events draining from the post; `victim` (hub, broker or post) is killed -9 in the
    middle, started again after `pause_s`, and the hub ends with exactly the post's events."""
    post, hub = start_world(company, 20_000)
    post.start()
    mid_drain(company, 20_000)
    server = {"hub": hub, "broker": company.broker, "post": post}[victim]
    server.kill9()
    time.sleep(pause_s)
    server.start()
    assert_exactly_the_posts_events(company, post)
    return post


@both_engines
def test_kill_9_of_the_hub_mid_drain_loses_and_doubles_nothing(company: Company) -> None:
    kill_9_mid_drain(company, "hub")


def test_kill_9_of_the_broker_mid_drain_loses_and_doubles_nothing(company: Company) -> None:
    kill_9_mid_drain(company, "broker", pause_s=0.5)


def test_kill_9_of_the_post_mid_drain_loses_and_doubles_nothing(company: Company) -> None:
    post = kill_9_mid_drain(company, "post")
    post.stop()
    verified = run_edge("verify", "--data", str(post.data))
    assert (verified.returncode, verified.stdout.strip()) == (0, "ok 20000 events")


def test_the_hub_down_for_long_then_everything_drains(company: Company) -> None:
    posts = [company.add_post(SITE, DEVICE), company.add_post("sunrise-court", "lobby-1")]
    company.broker.start()
    for post in posts:
        post.start()
    for post in posts:  # the posts keep working, connected to the broker, with no hub
        token = post.login()
        with post.client(token) as api:
            for n in range(300):
                assert api.post("/shift-notes", json={"text": f"{NOTE} {n}"}).status_code == 201
            state = api.get("/sync").json()
        assert (state["connected"], state["acked_seq"], state["backlog"]) == (True, 0, 300)
        post.stop()
        append_notes(post, 5000)  # and days more of writing
        post.start()
    hub = company.hub().start()
    company.extra = [hub]
    for post in posts:
        wait_until(lambda post=post: synced(post), 60, "the backlog to drain")
    assert hub_events(company, SITE, DEVICE) == edge_events(posts[0])
    assert hub_events(company, "sunrise-court", "lobby-1") == edge_events(posts[1])
    assert len(edge_events(posts[0])) == 5300


# ---- duplicates, reordering, gaps -------------------------------------------------------------


def test_duplicated_and_reordered_batches_change_nothing_and_gaps_are_not_acked(
    company: Company,
) -> None:
    post, _ = start_world(company, 2000)
    hub_account = company.hub_account
    tap = Tap(
        company,
        hub_account["username"],
        hub_account["password"],
        [events_topic(SITE, DEVICE), ack_topic(SITE, DEVICE)],
    )
    try:
        post.start()
        assert_exactly_the_posts_events(company, post)
        with tap.lock:
            batches = [p for t, p in tap.messages if t.endswith("/events")]
        assert len(batches) >= 4  # 2,000 notes of 1 KiB: several 256 KiB batches
        before = hub_rows(company)
        with tap.lock:
            tap.messages.clear()
        for payload in [*reversed(batches), *batches]:
            tap.publish(events_topic(SITE, DEVICE), payload)
        acks = wait_until(
            lambda: [json.loads(p) for t, p in list(tap.messages) if t.endswith("/ack")] or None,
            10,
            "the hub's acks",
        )
        time.sleep(1)  # let the hub finish with every republished batch
        assert hub_rows(company) == before
        with tap.lock:
            acks = [json.loads(p)["acked_seq"] for t, p in tap.messages if t.endswith("/ack")]
        assert acks and set(acks) == {2000}

        # a second post's events after a gap (seq 6 onwards, never its 1..5): not stored, and
        # the ack stays at 0
        other = company.add_post("sunrise-court", "lobby-1")
        append_notes(other, 20)
        book = Logbook(other.data)
        try:
            after_gap = [json.loads(body) for _, body in book.sync.encoded_events_after(5)]
        finally:
            book.close()
        with tap.lock:
            tap.messages.clear()
        tap.client.subscribe(ack_topic("sunrise-court", "lobby-1"), qos=1)
        time.sleep(0.3)
        tap.publish(
            events_topic("sunrise-court", "lobby-1"),
            canonical_json({"site": "sunrise-court", "device": "lobby-1", "events": after_gap}),
        )
        gap_acks = wait_until(
            lambda: [
                json.loads(p)["acked_seq"]
                for t, p in list(tap.messages)
                if t == ack_topic("sunrise-court", "lobby-1")
            ],
            10,
            "an ack for the batch after a gap",
        )
        assert gap_acks == [0]
        assert hub_count(company, "sunrise-court", "lobby-1") == 0

        # the batch before the gap comes (as from another hub process's share): the hub stores
        # it and the waiting batch at once, in order, and acks both
        book = Logbook(other.data)
        try:
            before_gap = [json.loads(body) for _, body in book.sync.encoded_events_after(0)][:5]
        finally:
            book.close()
        tap.publish(
            events_topic("sunrise-court", "lobby-1"),
            canonical_json({"site": "sunrise-court", "device": "lobby-1", "events": before_gap}),
        )
        wait_until(
            lambda: (
                20
                in [
                    json.loads(p)["acked_seq"]
                    for t, p in list(tap.messages)
                    if t == ack_topic("sunrise-court", "lobby-1")
                ]
            ),
            10,
            "one ack for the batch and the one that waited",
        )
        assert [seq for seq, _ in hub_events(company, "sunrise-court", "lobby-1")] == list(
            range(1, 21)
        )
    finally:
        tap.close()


# ---- forgery and topic ACLs -------------------------------------------------------------------


def devices(hub: HubServer) -> dict[tuple[str, str], dict[str, Any]]:
    with hub.session() as api:
        return {(d["site"], d["device"]): d for d in api.get("/devices").json()["devices"]}


def pending_batch(post: EdgeServer, after: int) -> dict[str, Any]:
    """The post's events after `after`, as a batch (read from its stopped logbook)."""
    book = Logbook(post.data)
    try:
        events = [json.loads(body) for _, body in book.sync.encoded_events_after(after)]
    finally:
        book.close()
    return {"site": SITE, "device": DEVICE, "events": events}


@pytest.mark.parametrize("forgery", ["edited field", "chain that does not link"])
def test_a_forged_batch_is_rejected_whole_and_the_device_marked_tampered(
    company: Company, forgery: str
) -> None:
    post, hub = start_world(company, 10)
    post.start()
    assert_exactly_the_posts_events(company, post)
    post.stop()
    append_notes(post, 5)  # seq 11..15, not yet at the hub
    batch = pending_batch(post, 10)
    if forgery == "edited field":
        batch["events"][2]["data"]["text"] = "nothing happened tonight"  # hash kept: wrong now
    else:
        event = batch["events"][2]
        event["prev_hash"] = "f" * 64
        event["hash"] = event_hash(event)  # a self-consistent event that does not link
    tap = Tap(company, company.hub_account["username"], company.hub_account["password"])
    try:
        tap.publish(events_topic(SITE, DEVICE), canonical_json(batch))
        wait_until(lambda: devices(hub)[(SITE, DEVICE)]["tampered"], 10, "the tampered mark")
    finally:
        tap.close()
    assert hub_count(company) == 10  # not even seq 11 and 12, which were fine
    assert devices(hub)[(SITE, DEVICE)]["acked_seq"] == 10
    # the post's real events still arrive; the mark stays for a person to look at
    post.start()
    assert_exactly_the_posts_events(company, post)
    assert devices(hub)[(SITE, DEVICE)]["tampered"] is True


def test_a_post_cannot_publish_under_another_posts_topics(company: Company) -> None:
    victim, hub = start_world(company, 10)
    intruder = company.add_post("sunrise-court", "lobby-1")
    company.broker.reload()
    victim.start()
    assert_exactly_the_posts_events(company, victim)
    victim.stop()
    append_notes(victim, 5)
    batch = canonical_json(pending_batch(victim, 10))  # a valid batch the hub would take
    account = intruder.account  # type: ignore[attr-defined]
    tap = Tap(company, account["username"], account["password"])
    try:
        info = tap.publish(events_topic(SITE, DEVICE), batch)
        assert info.rc == mqtt.MQTT_ERR_SUCCESS  # the broker drops it quietly
        time.sleep(1.5)
        assert hub_count(company) == 10
        assert devices(hub)[(SITE, DEVICE)]["tampered"] is False
    finally:
        tap.close()
    # the same bytes from the hub's own account are taken: it was the ACL that stopped them
    hub_tap = Tap(company, company.hub_account["username"], company.hub_account["password"])
    try:
        hub_tap.publish(events_topic(SITE, DEVICE), batch)
        wait_until(lambda: hub_count(company) == 15, 10, "the hub to take the batch")
    finally:
        hub_tap.close()


# ---- a hub that is alive but stalled: no storm of resends -------------------------------------


def test_a_stalled_hub_gets_one_batch_again_per_wait_then_everything_once(
    company: Company,
) -> None:
    """The hub process is frozen (SIGSTOP: connected, acking nothing) while a post drains: the
    post resends one batch when no ack comes in time, waits twice as long each time, and once
    the hub runs again every event arrives once and in order."""
    post, hub = start_world(company, 5000)  # about 20 batches: a full window in flight
    assert hub.proc is not None
    account = post.account  # type: ignore[attr-defined]
    tap = Tap(
        company,
        company.hub_account["username"],
        company.hub_account["password"],
        [events_topic(SITE, DEVICE)],
    )
    hub.proc.send_signal(signal.SIGSTOP)
    book = Logbook(post.data)
    sync = Sync(
        book, company.broker.url(account["username"], account["password"]), ack_timeout_s=0.5
    )
    try:
        sync.start()
        wait_until(lambda: len(tap.messages) >= WINDOW, 10, "the first window to be sent")
        first_window = len(tap.messages)
        time.sleep(5)  # resends after about 1, 2 and 4 s; one every second before
        assert 1 <= sync.resends <= 4
        assert len(tap.messages) == first_window + sync.resends  # one batch each time
        hub.proc.send_signal(signal.SIGCONT)
        wait_until(lambda: book.sync.state()["backlog"] == 0, 60, "the post to drain")
    finally:
        hub.proc.send_signal(signal.SIGCONT)
        sync.stop()
        book.close()
        tap.close()
    assert hub_events(company, SITE, DEVICE) == edge_events(post)
