"""Evidence photos from the post to the hub (CONTRACT section 9), with a real Mosquitto, hub and
posts: a photo taken while the broker is down arrives once it is back, byte-identical and once;
bytes that do not hash to the event's sha256 are refused and nothing is kept; the purge deletes
the files at post and hub and both logbooks still agree; who may read a photo at the hub."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge.logbook import Logbook
from schemas.canonical import batch_frame
from schemas.photos import CHUNK_BYTES, BlobChunk, chunk_count, chunk_message
from schemas.topics import blob_ack_topic, blobs_topic, events_topic
from tests.helpers import (
    Company,
    EdgeServer,
    HubServer,
    Tap,
    add_user,
    run_edge,
    running,
    wait_until,
)
from tests.test_photos import jpeg, open_incident, photo_files, upload

SITE = "harbour-view"
OTHER = {"username": "other-site-sup", "password": "other-pass-123"}
AUDITOR = {"username": "hv-auditor", "password": "auditor-pass-1"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    company = Company(tmp_path_factory.mktemp("photo-sync"))
    add_user(company.hub_data, OTHER, "supervisor", "kowloon-bay")
    add_user(company.hub_data, AUDITOR, "auditor", SITE)
    post = company.add_post(SITE, "lobby-1")
    rogue_post = company.add_post(SITE, "lobby-2")  # its bytes come from the test first
    hub = company.start_hub()
    post.start()
    try:
        yield {"company": company, "hub": hub, "post": post, "lobby2": rogue_post}
    finally:
        company.stop_all(*company.extra)


def hub_photo(hub: HubServer, photo_id: str, user: dict[str, str] | None = None) -> httpx.Response:
    with hub.client(user) if user else hub.client() as api:
        return api.get(f"/photos/{photo_id}")


def hub_rows(company: Company, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(company.hub_data / "hub.db")
    try:
        return [tuple(r) for r in conn.execute(sql, args)]
    finally:
        conn.close()


def events(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return [tuple(r) for r in conn.execute(sql, args)]
    finally:
        conn.close()


def test_a_photo_taken_while_the_broker_is_down_reaches_the_hub_once(
    world: dict[str, Any],
) -> None:
    company, hub, post = world["company"], world["hub"], world["post"]
    content = jpeg(600 * 1024, seed=11)  # three chunks
    company.broker.stop()
    with post.client(post.login()) as guard:
        incident = open_incident(guard, "Graffiti on the car park wall")
        answer = upload(guard, incident, content)
        assert answer.status_code == 201, answer.text
        photo = answer.json()
    time.sleep(1)
    assert hub_photo(hub, photo["id"]).status_code == 404  # nothing reached the hub
    company.broker.start()
    arrived = wait_until(
        lambda: (r := hub_photo(hub, photo["id"])).status_code == 200 and r, 40, "the photo"
    )
    assert arrived.content == content
    assert arrived.headers["content-type"] == "image/jpeg"
    assert arrived.headers["x-content-type-options"] == "nosniff"
    sent = "SELECT 1 FROM photos WHERE sent_at IS NOT NULL"
    wait_until(lambda: events(post.data / "guardpost.db", sent), 10, "the hub's ack")
    time.sleep(1)  # nothing more comes: stored once
    assert photo_files(company.hub_data) == [photo["sha256"]]
    assert hub_rows(company, "SELECT id, incident_id, size FROM photos") == [
        (photo["id"], incident, len(content))
    ]
    with hub.client() as api:
        shown = api.get(f"/incidents/{incident}").json()
    assert shown["title"] == "Graffiti on the car park wall"
    # the wrong site's supervisor gets 404 (not 403); the site's auditor may look
    assert hub_photo(hub, photo["id"], OTHER).status_code == 404
    assert hub_photo(hub, photo["id"], AUDITOR).status_code == 200
    assert httpx.get(f"{hub.url}/api/v1/photos/{photo['id']}").status_code == 401


def test_bytes_that_do_not_hash_to_the_event_are_refused(world: dict[str, Any]) -> None:
    company, hub, lobby2 = world["company"], world["hub"], world["lobby2"]
    offline = EdgeServer(lobby2.data)  # the post without its broker: the test sends for it
    content = jpeg(300 * 1024, seed=12)
    with running(offline), offline.client(offline.login()) as guard:
        incident = open_incident(guard)
        photo = upload(guard, incident, content).json()
    book = Logbook(lobby2.data)
    try:
        batch = batch_frame(SITE, "lobby-2", [e for _, e in book.sync.encoded_events_after(0)])
    finally:
        book.close()
    account = lobby2.account
    acks = [blob_ack_topic(SITE, "lobby-2")]
    rogue = Tap(company, account["username"], account["password"], acks)
    try:
        rogue.publish(events_topic(SITE, "lobby-2"), batch)  # the real events: the hub takes them
        wait_until(lambda: hub_rows(company, "SELECT 1 FROM photos WHERE id = ?", photo["id"]), 20)
        tampered = bytearray(content)
        tampered[CHUNK_BYTES + 5] ^= 0xFF  # one byte of the second chunk
        count = chunk_count(len(content))
        for index in range(count):
            header = BlobChunk(sha256=photo["sha256"], size=len(content), index=index, count=count)
            body = bytes(tampered[index * CHUNK_BYTES : (index + 1) * CHUNK_BYTES])
            rogue.publish(blobs_topic(SITE, "lobby-2"), chunk_message(header, body))
        wait_until(lambda: rogue.messages, 20, "the hub's answer")
        [(_, answer)] = rogue.messages
        assert json.loads(answer) == {"sha256": photo["sha256"], "state": "refused"}
    finally:
        rogue.close()
    assert photo["sha256"] not in photo_files(company.hub_data)  # nothing kept
    assert hub_photo(hub, photo["id"]).status_code == 404
    with running(lobby2):  # the post itself sends the true bytes
        arrived = wait_until(
            lambda: (r := hub_photo(hub, photo["id"])).status_code == 200 and r, 40, "the photo"
        )
    assert arrived.content == content


def test_the_purge_deletes_photos_at_post_and_hub_and_the_logbooks_agree(
    world: dict[str, Any],
) -> None:
    company, hub, post = world["company"], world["hub"], world["post"]
    [(photo_id, sha)] = events(post.data / "guardpost.db", "SELECT id, sha256 FROM photos")
    assert hub_photo(hub, photo_id).status_code == 200
    purge = run_edge("purge", "--data", str(post.data), "--older-than", "0")
    assert purge.returncode == 0, purge.stderr
    assert purge.stdout.splitlines()[-1] == "deleted 1 photos older than 0 days"
    assert photo_files(post.data) == []
    wait_until(lambda: sha not in photo_files(company.hub_data), 30, "the hub to delete it")
    assert hub_photo(hub, photo_id).status_code == 404
    with post.client(post.login()) as guard:
        assert guard.get(f"/photos/{photo_id}").status_code == 404
    verify = run_edge("verify", "--data", str(post.data))
    assert verify.returncode == 0 and verify.stdout.startswith("ok "), verify.stdout
    mine = events(post.data / "guardpost.db", "SELECT seq, hash FROM events ORDER BY seq")
    wait_until(
        lambda: (
            hub_rows(
                company,
                "SELECT seq, hash FROM events WHERE site = ? AND device = ? ORDER BY seq",
                SITE,
                "lobby-1",
            )
            == mine
        ),
        20,
        "the hub to hold the same chain",
    )
    purged = "SELECT purged_at IS NOT NULL, stored_at FROM photos WHERE id = ?"
    assert hub_rows(company, purged, photo_id) == [(1, None)]
