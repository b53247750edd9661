"""The hub on PostgreSQL: a SQLite hub moved with `migrate-db` answers the same, and what only
PostgreSQL has (its URL remembered, a newer schema refused, a non-empty target refused). The
hub's behaviour on both engines is in the modules marked `both_engines` (docs/scaling.md)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from hub.store import Store, init_store
from schemas.canonical import GENESIS_HASH
from tests.helpers import (
    Company,
    HubServer,
    hub_query,
    init_hub,
    run_hub,
    running,
    wait_until,
)
from tests.pg import PgCluster
from tests.test_search_index import visits
from tests.test_sync import edge_events, hub_events, synced
from tests.test_sync_faults import append_notes

ZONE = ZoneInfo("Asia/Hong_Kong")


def search(api: Any, q: str) -> list[dict[str, Any]]:
    return list(api.get("/search", params={"q": q}).json()["entries"])


def answers(hub: HubServer, site: str, day: str) -> dict[str, Any]:
    """What a supervisor reads of the hub: devices, visits, incidents, one incident, the day's
    logbook, and searches of one, two and three or more characters, in Chinese and in any case."""
    with hub.client() as api:
        incidents = api.get("/incidents").json()["incidents"]
        found = {
            q: [
                (e["device"], e["seq"])
                for e in api.get("/search", params={"q": q}).json()["entries"]
            ]
            for q in ("噪", "噪音", "噪音投訴", "訪客", "2a", "12a", "nothing like this")
        }
        return {
            "devices": [
                {k: v for k, v in d.items() if k != "online"}
                for d in api.get("/devices").json()["devices"]
            ],
            "visits": api.get("/visits").json()["visits"],
            "incidents": incidents,
            "incident": api.get(f"/incidents/{incidents[0]['id']}").json(),
            "logbook": api.get("/logbook", params={"site": site, "date": day}).json(),
            "search": found,
        }


def test_migrate_db_moves_a_sqlite_hub_and_it_answers_the_same(
    company: Company, pg_cluster: PgCluster, tmp_path: Path
) -> None:
    post, hub = company.start_with_post("harbour-view")
    with post.client(post.login()) as api:
        for n in range(3):
            api.post(
                "/visits", json={"visitor_name": f"訪客{n}", "unit": "12A", "category": "guest"}
            )
        api.post(
            "/incidents", json={"category": "complaint", "severity": "medium", "title": "噪音投訴"}
        )
        api.post("/shift-notes", json={"text": "交更：一切正常"})
        last_seq = api.get("/sync").json()["last_seq"]

    def synced() -> bool:
        with post.client(post.token()) as api:
            state = api.get("/sync").json()
        return bool(state["acked_seq"] == last_seq)

    wait_until(synced, 30, "the post to drain")
    with hub.client() as api:  # a supervisor's entry and an audit line: rows made at the hub
        incident = api.get("/incidents").json()["incidents"][0]
        entry = {"kind": "note", "text": "已通知管理處"}
        assert api.post(f"/incidents/{incident['id']}/entries", json=entry).status_code == 201
    company.stop_all(hub)
    day = datetime.fromisoformat(incident["opened_at"]).astimezone(ZONE).date().isoformat()
    with running(HubServer(company.hub_data)) as alone:  # no broker: nothing changes meanwhile
        before = answers(alone, "harbour-view", day)
    assert before["search"]["噪"] and before["search"]["噪音"] and before["search"]["噪音投訴"]
    assert len(before["search"]["訪客"]) == 3 and before["search"]["nothing like this"] == []
    assert len(before["search"]["2a"]) == len(before["search"]["12a"]) == 3  # unit 12A, any case

    [(events,)] = hub_query(company.hub_data, "SELECT COUNT(*) FROM events")  # on SQLite
    assert events >= last_seq
    target = pg_cluster.new_database()
    moved = run_hub("migrate-db", "--data", str(company.hub_data), "--to", target)
    assert moved.returncode == 0, moved.stderr
    counts = dict(line.split(": ") for line in moved.stdout.splitlines()[:-1])
    assert counts["events"] == str(events) and counts["incident_entries"] == "1"
    assert counts["visits"] == "3" and counts["users"] == "1"
    assert hub_query(company.hub_data, "SELECT COUNT(*) FROM events") == [(events,)]  # on PG

    with running(HubServer(company.hub_data)) as moved_hub:
        after = answers(moved_hub, "harbour-view", day)
        with moved_hub.client() as api:  # and it goes on: a new entry, a new audit id
            entry = {"kind": "note", "text": "第二次"}
            assert api.post(f"/incidents/{incident['id']}/entries", json=entry).status_code == 201
    assert after == before

    # the same again: the directory now uses PostgreSQL; another SQLite hub into a full target
    again = run_hub("migrate-db", "--data", str(company.hub_data), "--to", target)
    assert again.returncode == 2 and "PostgreSQL already" in again.stderr
    other = tmp_path / "other"
    init_hub(other)
    refused = run_hub("migrate-db", "--data", str(other), "--to", target)
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.count("\n") == 1 and "is not empty" in refused.stderr
    assert "guardpost-test" not in refused.stderr  # the password is masked


def test_a_postgresql_hub_remembers_its_database_and_refuses_a_newer_one(
    pg_cluster: PgCluster, tmp_path: Path
) -> None:
    data, url = tmp_path / "hub", pg_cluster.new_database()
    init_hub(data, ("harbour-view", "lobby-1"), db=url)
    assert not (data / "hub.db").exists()
    assert (data / "hub-db.url").stat().st_mode & 0o777 == 0o600
    devices = hub_query(data, "SELECT site, device FROM devices")
    assert devices == [("harbour-view", "lobby-1")]  # provision-device found it without --db

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE guardpost_schema SET version = version + 1")
    for command in ("init", "serve"):
        refused = run_hub(command, "--data", str(data))
        assert refused.returncode == 2, (command, refused.stderr)
        assert "newer Guardpost" in refused.stderr and refused.stderr.count("\n") == 1

    sqlite_hub = tmp_path / "sqlite-hub"
    init_hub(sqlite_hub)
    for args in (["--db", url], ["--db", "mysql://x"]):
        wrong = run_hub("serve", "--data", str(sqlite_hub), *args)
        assert wrong.returncode == 2 and wrong.stderr.count("\n") == 1, wrong.stderr
    unreachable = run_hub("init", "--data", str(tmp_path / "new"), "--db", pg_cluster.url("nope"))
    assert unreachable.returncode == 2 and "cannot reach" in unreachable.stderr


PER_POST = 5000  # the 3 x 5,000 events


@pytest.mark.parametrize("hub_db", ["postgresql"], indirect=True, scope="module")
def test_two_hub_processes_drain_three_posts_through_a_kill_9(company: Company) -> None:
    """Two hub processes share the events subscription on one PostgreSQL; one is killed -9 in
    the middle of the drain and started again: every post's events are at the hub once, in
    order, and every post has all of them acked."""
    posts = [
        company.add_post("harbour-view", "lobby-1"),
        company.add_post("harbour-view", "carpark"),
        company.add_post("sunrise-court", "lobby-1"),
    ]
    for post in posts:
        append_notes(post, PER_POST)
    company.broker.start()
    for worker in ("a", "b"):
        hub = company.hub()
        hub.env = {
            "GUARDPOST_HUB_SHARED_SUBSCRIPTION": "true",
            "GUARDPOST_HUB_CLIENT_ID": f"guardpost-hub-{worker}",
        }
        company.extra.append(hub.start())
    for post in posts:
        post.start()

    def stored() -> int:
        [(count,)] = hub_query(company.hub_data, "SELECT COUNT(*) FROM events")
        return int(count) if 0 < count < 3 * PER_POST else 0

    wait_until(stored, 60, "the hubs to be in the middle of the drain")
    company.extra[0].kill9()
    company.extra[0].start()
    for (site, device), post in company.posts.items():
        wait_until(lambda post=post: synced(post), 300, f"{site}/{device} to drain")
        assert hub_events(company, site, device) == edge_events(post)
        with post.client(post.login()) as api:
            state = api.get("/sync").json()
        assert state["acked_seq"] == state["last_seq"] == PER_POST


def test_an_ingest_leaves_a_post_another_process_is_storing_and_stores_the_others(
    pg_cluster: PgCluster, tmp_path: Path
) -> None:
    """Two hub processes get neighbouring posts' batches in one group each. While one holds a
    post (its ingest not committed yet), the other's ingest stores its other posts at once and
    leaves that post's batch for a later group, unacked, instead of waiting for the commit."""
    url = pg_cluster.new_database()
    init_store(tmp_path / "a", url)  # two stores on one database: two hub processes
    a, b = Store(tmp_path / "a", db_url=url), Store(tmp_path / "a", db_url=url)
    first = {d: visits([f"訪客{d}"], 1, GENESIS_HASH) for d in ("lobby-1", "carpark")}

    def batch(device: str) -> tuple[str, str, dict[str, Any]]:
        return (
            "harbour-view",
            device,
            {"site": "harbour-view", "device": device, "events": first[device]},
        )

    try:
        with a.db.transaction(devices=[("harbour-view", "lobby-1")]):  # a, in mid-ingest
            results = b.ingest([batch("lobby-1"), batch("carpark")], skip_busy=True)
            assert [(r.device, r.busy, r.stored) for r in results] == [
                ("lobby-1", True, 0),
                ("carpark", False, 1),
            ]
        [again] = b.ingest([batch("lobby-1")], skip_busy=True)  # a committed: taken now
        assert (again.busy, again.stored, again.acked_seq) == (False, 1, 1)
        assert a.count_events() == 2
    finally:
        a.close()
        b.close()
