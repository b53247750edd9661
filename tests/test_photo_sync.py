"""Evidence photos from the post to the hub (CONTRACT section 9), with a real Mosquitto, hub and
posts: a photo taken while the broker is down arrives once it is back, byte-identical and once;
bytes that do not hash to the event's sha256 are refused and nothing is kept; the purge deletes
the files at post and hub and both logbooks still agree; who may read a photo at the hub."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge.logbook import Actor, Logbook
from hub.blobs import BlobReceiver
from hub.store import Store, init_store
from schemas.canonical import batch_frame
from schemas.ids import format_time, utc_now
from schemas.photos import CHUNK_BYTES, BlobChunk, chunk_count, chunk_message
from schemas.topics import blob_ack_topic, blobs_topic, events_topic
from service.photo_files import PhotoFiles
from service.uploads import Upload
from tests.browser import signed_in
from tests.conftest import BOTH_ENGINES
from tests.helpers import (
    MANAGER,
    Company,
    EdgeServer,
    Tap,
    add_user,
    hub_query,
    key_values,
    run_edge,
    run_hub,
    running,
    wait_until,
)
from tests.test_photos import jpeg, open_incident, photo_files, upload

pytestmark = BOTH_ENGINES  # the hub's photo SQL on SQLite and on PostgreSQL

SITE = "harbour-view"
OTHER = {"username": "other-site-sup", "password": "other-pass-123"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, hub_db: str) -> Iterator[dict[str, Any]]:
    company = Company(tmp_path_factory.mktemp("photo-sync"))
    add_user(company.hub_data, OTHER, "supervisor", "kowloon-bay")
    post = company.add_post(SITE, "lobby-1")
    # a second post, set up by hand: its events and bytes come from the test first
    made = run_hub(
        "provision-device", "--data", str(company.hub_data), "--site", SITE, "--device", "lobby-2"
    )
    account = key_values(made.stdout)
    lobby2 = company.root / "lobby-2"
    init = ("init", "--data", str(lobby2), "--site", SITE, "--device", "lobby-2")
    assert run_edge(*init, "--id-key", account["id_key"]).returncode == 0
    hub = company.hub()
    hub.env["GUARDPOST_HUB_MIN_RETENTION_DAYS"] = "0"  # the purge below is of a new photo
    company.broker.start()
    hub.start()
    company.extra = [hub]
    post.start()
    try:
        with hub.client() as manager:  # one login: argon2 per poll would load the machine
            yield {
                "company": company,
                "hub": hub,
                "manager": manager,
                "post": post,
                "lobby2": (lobby2, account),
            }
    finally:
        company.stop_all(*company.extra)


def hub_photo(api: httpx.Client, photo_id: str) -> httpx.Response:
    return api.get(f"/photos/{photo_id}")


def hub_rows(company: Company, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    return hub_query(company.hub_data, sql, *args)


def events(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return [tuple(r) for r in conn.execute(sql, args)]
    finally:
        conn.close()


async def attach(book: Logbook, content: bytes) -> dict[str, Any]:
    guard = Actor("guard", "1001")
    body = {"category": "security", "severity": "medium", "title": "Stranger in the car park"}
    incident = await book.incidents.open(body, guard)
    out, temp = book.photos.files.temp()
    with out:
        out.write(content)
    sha = hashlib.sha256(content).hexdigest()
    upload = Upload(sha, len(content), "image/jpeg", temp, {})
    return {**await book.photos.attach(incident["id"], upload, guard), "incident": incident["id"]}


def test_a_photo_taken_while_the_broker_is_down_reaches_the_hub_once(
    world: dict[str, Any],
) -> None:
    company, hub, post, manager = world["company"], world["hub"], world["post"], world["manager"]
    content = jpeg(600 * 1024, seed=11)  # three chunks
    with post.client(post.login()) as guard:
        incident = open_incident(guard, "Graffiti on the car park wall")
        company.broker.stop()  # briefly: paho's reconnect delay doubles while it is down
        answer = upload(guard, incident, content)
        assert answer.status_code == 201, answer.text
        photo = answer.json()
    assert hub_photo(manager, photo["id"]).status_code == 404  # nothing reached the hub
    company.broker.start()
    arrived = wait_until(
        lambda: (r := hub_photo(manager, photo["id"])).status_code == 200 and r, 40, "the photo"
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
    [listed] = manager.get(f"/incidents/{incident}").json()["photos"]
    assert (listed["id"], listed["sha256"], listed["size"]) == (
        photo["id"],
        photo["sha256"],
        len(content),
    )
    with signed_in(hub.url, MANAGER) as supervisor:  # the hub's incident page shows it
        page = supervisor.get(f"/incidents/{incident}").text
        assert f'<a href="/photos/{photo["id"]}"><img class="thumb" src="/photos/' in page
        assert supervisor.get(f"/photos/{photo['id']}").content == content
    # the wrong site's supervisor gets 404 (not 403); the site's auditor may look
    with hub.client(OTHER) as other:
        assert hub_photo(other, photo["id"]).status_code == 404
    assert httpx.get(f"{hub.url}/api/v1/photos/{photo['id']}").status_code == 401


def test_a_visit_reaches_the_hub_within_2_s_while_photos_drain(world: dict[str, Any]) -> None:
    company, post = world["company"], world["post"]
    db = post.data / "guardpost.db"
    contents = [jpeg(2 * 1024 * 1024, seed=30 + n) for n in range(8)]  # 16 MB: 2 s at 8 MiB/s
    waiting = "SELECT COUNT(*) FROM photos WHERE sent_at IS NULL"
    with post.client(post.login()) as guard:
        incident = open_incident(guard, "Water in the basement car park")
        company.broker.stop()
        for content in contents:
            assert upload(guard, incident, content).status_code == 201
        company.broker.start()
        wait_until(lambda: 0 < events(db, waiting)[0][0] < 8, 30, "the drain to begin")
        visit = {"visitor_name": "陳大文", "unit": "12A", "category": "guest"}
        visit_id = guard.post("/visits", json=visit).json()["id"]
        registered = time.monotonic()
        at_hub = "SELECT 1 FROM visits WHERE id = ?"
        wait_until(lambda: hub_rows(company, at_hub, visit_id), 10, "the visit at the hub")
        took = time.monotonic() - registered
        still_waiting = events(db, waiting)[0][0]
    assert took < 2.0, f"the visit took {took:.2f} s"
    assert still_waiting > 0  # it did not wait for the photos
    stored = "SELECT COUNT(*) FROM photos WHERE incident_id = ? AND stored_at IS NOT NULL"
    wait_until(lambda: hub_rows(company, stored, incident) == [(8,)], 40, "every photo")


def test_bytes_that_do_not_hash_to_the_event_are_refused(world: dict[str, Any]) -> None:
    company, hub, manager = world["company"], world["hub"], world["manager"]
    data, account = world["lobby2"]
    content = jpeg(300 * 1024, seed=12)
    book = Logbook(data)  # the post offline: a photo on an incident, as its API would take it
    try:
        photo = asyncio.run(attach(book, content))
        batch = batch_frame(SITE, "lobby-2", [e for _, e in book.sync.encoded_events_after(0)])
    finally:
        book.close()
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
    assert hub_photo(manager, photo["id"]).status_code == 404
    with signed_in(hub.url, MANAGER) as supervisor:  # the incident says the photo is coming
        page = supervisor.get(f"/incidents/{photo['incident']}?lang=en").text
        assert '<span class="thumb gone">Photo on its way from the post</span>' in page
    post = EdgeServer(
        data, extra_args=["--broker", company.broker.url(account["username"], account["password"])]
    )
    with running(post):  # the post itself sends the true bytes
        arrived = wait_until(
            lambda: (r := hub_photo(manager, photo["id"])).status_code == 200 and r, 40, "the photo"
        )
    assert arrived.content == content


def test_the_purge_deletes_photos_at_post_and_hub_and_the_logbooks_agree(
    world: dict[str, Any],
) -> None:
    company, hub, post, manager = world["company"], world["hub"], world["post"], world["manager"]
    photos = events(post.data / "guardpost.db", "SELECT id, sha256 FROM photos")
    photo_id, sha = photos[0]
    assert hub_photo(manager, photo_id).status_code == 200
    purge = run_edge("purge", "--data", str(post.data), "--older-than", "0")
    assert purge.returncode == 0, purge.stderr
    assert purge.stdout.splitlines()[-1] == f"deleted {len(photos)} photos older than 0 days"
    assert photo_files(post.data) == []
    mine = {sha for _, sha in photos}
    wait_until(lambda: not mine & set(photo_files(company.hub_data)), 30, "the hub to delete them")
    assert hub_photo(manager, photo_id).status_code == 404
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
    purged = "SELECT purged_at IS NOT NULL, stored_at, incident_id FROM photos WHERE id = ?"
    [(is_purged, stored_at, incident)] = hub_rows(company, purged, photo_id)
    assert (is_purged, stored_at) == (1, None)
    with signed_in(hub.url, MANAGER) as supervisor:  # a placeholder where the photo was
        page = supervisor.get(f"/incidents/{incident}?lang=en").text
        assert '<span class="thumb gone" data-purged>Photo deleted after the retention' in page


def test_the_hub_keeps_a_purged_photo_until_its_own_retention_floor(tmp_path: Path) -> None:
    """A post with its clock a year ahead purges a photo that just arrived: the hub keeps the
    file until it has held it for its minimum retention (by the hub's own clock)."""
    init_store(tmp_path)
    store = Store(tmp_path)
    files = PhotoFiles(tmp_path)
    content = jpeg(1000, seed=21)
    sha = hashlib.sha256(content).hexdigest()
    files.write(content, sha)
    now = format_time(utc_now() - timedelta(seconds=1))  # not the sweep's own millisecond
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO photos (id, site, device, incident_id, sha256, content_type, size,"
            " attached_at, author, purged_at, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ("p1", SITE, "lobby-1", "i1", sha, "image/jpeg", 1000, now, "guard:1001", now, now),
        )
    try:
        floor = BlobReceiver(store, "mqtt://127.0.0.1:1", files, "test", min_retention_days=1)
        assert floor.sweep_purged() == 0 and files.has(sha)
        no_floor = BlobReceiver(store, "mqtt://127.0.0.1:1", files, "test", min_retention_days=0)
        assert no_floor.sweep_purged() == 1 and not files.has(sha)
    finally:
        store.close()
