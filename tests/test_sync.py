"""Sync through a real Mosquitto: posts that wrote offline reach the hub exactly once, and a
supervisor's entry reaches the post that holds the incident."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.helpers import Company, EdgeServer, HubServer, hub_contents, hub_query, wait_until


def write_offline(post: EdgeServer, visits: int) -> list[dict[str, object]]:
    with post.client(post.login()) as api:
        ids = [
            api.post(
                "/visits", json={"visitor_name": f"訪客{n}", "unit": "12A", "category": "guest"}
            ).json()["id"]
            for n in range(visits)
        ]
        incident = api.post(
            "/incidents", json={"category": "complaint", "severity": "medium", "title": "噪音投訴"}
        ).json()
        api.post(f"/visits/{ids[0]}/checkout", json={})
        api.post("/shift-notes", json={"text": "交更：一切正常"})
        assert api.get("/sync").json()["connected"] is False
    return [incident]


def edge_events(post: EdgeServer) -> list[tuple[int, str]]:
    import sqlite3

    conn = sqlite3.connect(post.data / "guardpost.db")
    rows = conn.execute("SELECT seq, hash FROM events ORDER BY seq").fetchall()
    conn.close()
    return [(r[0], r[1]) for r in rows]


def hub_events(company: Company, site: str, device: str) -> list[tuple[int, str]]:
    rows = hub_query(
        company.hub_data,
        "SELECT seq, hash FROM events WHERE site = ? AND device = ? ORDER BY seq",
        site,
        device,
    )
    return [(r[0], r[1]) for r in rows]


def synced(post: EdgeServer) -> bool:
    with post.client(post.token()) as api:
        state = api.get("/sync").json()
    return bool(state["connected"] and state["backlog"] == 0 and state["last_seq"] > 0)


def test_three_posts_written_offline_arrive_exactly_once(company: Company) -> None:
    posts = [
        company.add_post("harbour-view", "lobby-1"),
        company.add_post("harbour-view", "carpark"),
        company.add_post("sunrise-court", "lobby-1"),
    ]
    for n, post in enumerate(posts):
        post.start()
        write_offline(post, 5 + n * 10)
    hub = company.start_hub()
    for post in posts:
        wait_until(lambda post=post: synced(post), 30, f"{post.data.name} to drain")
    for (site, device), post in company.posts.items():
        assert hub_events(company, site, device) == edge_events(post)
    with hub.client() as api:
        devices = {(d["site"], d["device"]): d for d in api.get("/devices").json()["devices"]}
        visits = api.get("/visits").json()["visits"]
        lobby = api.get("/logbook", params={"site": "harbour-view"}).json()["entries"]
    assert {k: (d["acked_seq"], d["tampered"]) for k, d in devices.items()} == {
        ("harbour-view", "lobby-1"): (8, False),
        ("harbour-view", "carpark"): (18, False),
        ("sunrise-court", "lobby-1"): (28, False),
    }
    assert len(visits) == 5 + 15 + 25
    assert sorted((e["device"], e["seq"]) for e in lobby) == sorted(
        [("lobby-1", s) for s in range(1, 9)] + [("carpark", s) for s in range(1, 19)]
    )


def test_a_supervisor_entry_made_while_the_post_is_offline_arrives_once(company: Company) -> None:
    post, hub = company.start_with_post("harbour-view")
    incident = write_offline_or_online(post)
    wait_until(lambda: synced(post), 30, "the incident to reach the hub")
    post.stop()  # the post goes offline

    with hub.client() as api:
        entry = api.post(
            f"/incidents/{incident['id']}/entries",
            json={"kind": "escalation", "text": "主管：請即上樓了解"},
        )
        assert entry.status_code == 201, entry.text
    post.start()

    def entry_at_edge() -> list[dict[str, object]]:
        with post.client(post.token()) as api:
            entries = api.get(f"/incidents/{incident['id']}").json()["entries"]
        return [e for e in entries if e["id"] == entry.json()["id"]]

    arrived = wait_until(entry_at_edge, 30, "the entry to reach the edge")
    assert arrived[0]["text"] == "主管：請即上樓了解"
    assert arrived[0]["author"] == "hub:manager"
    wait_until(lambda: synced(post), 30, "the edge's copy to come back up")
    # resends (the hub resends on every reconnect) never double it
    post.stop()
    post.start()
    wait_until(lambda: synced(post), 30, "reconnect")
    assert len(entry_at_edge()) == 1
    with hub.client() as api:
        hub_entries = api.get(f"/incidents/{incident['id']}").json()["entries"]
    assert [e["id"] for e in hub_entries].count(entry.json()["id"]) == 1


def write_offline_or_online(post: EdgeServer) -> dict[str, object]:
    with post.client(post.login()) as api:
        answer = api.post(
            "/incidents", json={"category": "complaint", "severity": "severe", "title": "大堂漏水"}
        )
        assert answer.status_code == 201
        return dict(answer.json())


def test_hub_answers_404_for_sites_outside_a_users_scope(company: Company, tmp_path: Path) -> None:
    from tests.helpers import add_user

    post, hub = company.start_with_post("harbour-view")
    incident = write_offline_or_online(post)
    wait_until(lambda: synced(post), 30, "sync")
    for name, role in (("sup", "supervisor"), ("aud", "auditor")):
        add_user(
            company.hub_data, {"username": name, "password": "password-123"}, role, "sunrise-court"
        )
    add_user(
        company.hub_data,
        {"username": "aud2", "password": "password-123"},
        "auditor",
        "harbour-view",
    )
    note = {"kind": "note", "text": "x"}
    with hub.client({"username": "sup", "password": "password-123"}) as api:
        assert api.get(f"/incidents/{incident['id']}").status_code == 404
        assert api.post(f"/incidents/{incident['id']}/entries", json=note).status_code == 404
        assert api.get("/visits", params={"site": "harbour-view"}).status_code == 404
        assert api.get("/incidents").json()["incidents"] == []
        assert api.get("/devices").json()["devices"] == []
    with hub.client({"username": "aud2", "password": "password-123"}) as api:
        assert api.get(f"/incidents/{incident['id']}").status_code == 200
        assert api.post(f"/incidents/{incident['id']}/entries", json=note).status_code == 403
    assert httpx.get(f"{hub.url}/api/v1/devices").status_code == 401
    assert isinstance(hub, HubServer)


def test_a_purge_at_the_post_removes_the_name_at_the_hub_too(company: Company) -> None:
    from tests.helpers import run_edge

    post = company.add_post("harbour-view", "lobby-1")
    company.broker.start()
    hub = company.hub()
    hub.env["GUARDPOST_HUB_MIN_RETENTION_DAYS"] = "0"  # the purge below is of a minute-old visit
    hub.start()
    post.start()
    company.extra = [hub]
    canary = "Purgecanary 金絲雀"
    with post.client(post.login()) as api:
        visit = api.post(
            "/visits",
            json={"visitor_name": canary, "unit": "12A", "category": "guest", "phone": "5555 0123"},
        ).json()
    wait_until(lambda: synced(post), 30, "the visit to reach the hub")
    with hub.client() as api:
        assert api.get("/visits").json()["visits"][0]["visitor_name"] == canary
        assert len(api.get("/search", params={"q": "金絲雀"}).json()["entries"]) == 1
    post.stop()
    assert run_edge("purge", "--data", str(post.data), "--older-than", "0").returncode == 0
    post.start()
    wait_until(lambda: synced(post), 30, "the purge to reach the hub")

    def purged_at_hub() -> bool:
        with hub.session() as api:
            return api.get("/visits").json()["visits"][0]["visitor_name"] is None

    wait_until(purged_at_hub, 10, "the hub to apply the purge")
    with hub.client() as api:
        at_hub = api.get("/visits").json()["visits"][0]
    assert (at_hub["id"], at_hub["phone"], at_hub["unit"]) == (visit["id"], None, "12A")
    with hub.client() as api:  # search forgets the name too, and still finds the visit
        assert api.get("/search", params={"q": "金絲雀"}).json()["entries"] == []
        [line] = api.get("/search", params={"q": "(name removed)"}).json()["entries"]
        assert line["summary"].startswith("Visitor (name removed) registered for 12A")
    assert hub_events(company, "harbour-view", "lobby-1") == edge_events(post)
    kept = hub_contents(company.hub_data)
    assert canary.encode() not in kept and b"5555 0123" not in kept


def test_two_ingest_workers_share_the_subscription(company: Company) -> None:
    post = company.add_post("harbour-view", "lobby-1")
    post.start()
    with post.client(post.login()) as api:
        for n in range(30):
            assert api.post("/shift-notes", json={"text": f"patrol round {n}"}).status_code == 201
    company.broker.start()
    hubs = []
    for worker in ("a", "b"):
        hub = company.hub()
        hub.env = {
            "GUARDPOST_HUB_SHARED_SUBSCRIPTION": "true",
            "GUARDPOST_HUB_CLIENT_ID": f"guardpost-hub-{worker}",
        }
        hubs.append(hub.start())
    company.extra = hubs
    wait_until(lambda: synced(post), 30, "the post to drain through two workers")
    assert hub_events(company, "harbour-view", "lobby-1") == edge_events(post)


def test_the_hub_sees_a_post_go_offline_and_come_back(company: Company) -> None:
    post = company.add_post("harbour-view", "lobby-1")
    hub = company.start_hub()

    def online() -> bool | None:
        with hub.session() as api:
            found = [d["online"] for d in api.get("/devices").json()["devices"]]
        return found[0] if found else None

    post.start()
    wait_until(lambda: online() is True, 15, "the post's retained status: online")
    post.stop()
    wait_until(lambda: online() is False, 15, "the post's status: offline")
    post.start()
    wait_until(lambda: online() is True, 15, "online again")
