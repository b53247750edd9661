"""The hub's watch list reaches every post over the broker and is matched at registration with
no network; the full ID number never reaches the hub, the broker or the gateway."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.helpers import MANAGER, Company, EdgeServer, Tap, error_fields, hub_contents, wait_until

ID_NUMBER = "Z9876543(2)"
DIGITS = "9876543"


def applied_versions(post: EdgeServer) -> list[str]:
    with post.client(post.token()) as api:
        entries = api.get("/logbook").json()["entries"]
    return [e["summary"] for e in entries if e["type"] == "watchlist.applied"]


def register(api: httpx.Client, **fields: Any) -> dict[str, Any]:
    answer = api.post("/visits", json={"unit": "12B", "category": "guest", **fields})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_watch_list_matches_offline_and_the_number_never_leaves(company: Company) -> None:
    post, hub = company.start_with_post("harbour-view")
    tap = Tap(
        company, company.hub_account["username"], company.hub_account["password"], ["guardpost/#"]
    )
    try:
        with hub.client() as manager:
            by_number = manager.post(
                "/watchlist",
                json={"id_number": ID_NUMBER, "reason": "banned after a theft in 2026"},
            )
            by_name = manager.post(
                "/watchlist",
                json={"name": "Wong Ka-ho", "reason": "harassed a resident", "severity": "medium"},
            )
            neither = manager.post("/watchlist", json={"reason": "nobody"})
            assert [a.status_code for a in (by_number, by_name, neither)] == [201, 201, 422]
            assert error_fields(neither) == ["id_number"]
            entry = by_number.json()
            assert entry["id_number_masked"] == "Z****543(2)" and len(entry["id_hmac"]) == 64
            assert manager.get("/watchlist").json()["version"] == 2

        wait_until(
            lambda: any("version 2" in s for s in applied_versions(post)),
            30,
            "the post to apply the watch list",
        )

        # a post that joins later gets the current list when it first comes online
        late = company.add_post("harbour-view", "lobby-2")
        late.start()
        company.extra.append(late)
        wait_until(
            lambda: any("version 2 in force (2 entries)" in s for s in applied_versions(late)),
            30,
            "the new post's list",
        )

        hub.stop()
        company.broker.stop()  # the building's internet is down: matching is local
        with post.client(post.login()) as api:
            flagged = register(api, visitor_name="Someone", id_number="z 9876543 2")
            named = register(api, visitor_name="WONG KA HO")
            clean = register(api, visitor_name="Chan Tai Man", id_number="A1234567(8)")
            assert [v["flag"] for v in (flagged, named, clean)] == [
                "watch_list",
                "watch_list",
                None,
            ]
            incidents = api.get("/incidents").json()["incidents"]
            linked = sorted((i["visit_id"], i["category"], i["severity"]) for i in incidents)
            assert linked == sorted(
                [(flagged["id"], "watch_list", "severe"), (named["id"], "watch_list", "medium")]
            )
            reasons = {i["visit_id"]: i["description"] for i in incidents}
            assert reasons[flagged["id"]] == "banned after a theft in 2026"
    finally:
        tap.close()

    seen = b"".join(payload for _, payload in tap.messages)
    assert b"watchlist" in seen  # the tap did see the list go down
    assert DIGITS.encode() not in seen
    assert DIGITS.encode() not in hub_contents(company.hub_data)
    assert DIGITS not in hub.output()
    post_files = b"".join(p.read_bytes() for p in post.data.glob("guardpost.db*"))
    assert DIGITS.encode() not in post_files


def test_only_a_manager_changes_the_watch_list(company: Company) -> None:
    from tests.helpers import add_user

    add_user(
        company.hub_data,
        {"username": "sup", "password": "sup-pass-123"},
        "supervisor",
        "harbour-view",
    )
    hub = company.hub()
    hub.broker_url = ""
    hub.start()
    company.extra = [hub]
    with hub.client({"username": "sup", "password": "sup-pass-123"}) as supervisor:
        refused = supervisor.post("/watchlist", json={"name": "X", "reason": "y"})
        assert refused.status_code == 403
        assert supervisor.delete("/watchlist/anything").status_code == 403
    with hub.client() as manager:
        assert manager.delete("/watchlist/no-such-entry").status_code == 404
        made = manager.post("/watchlist", json={"name": "X", "reason": "y"}).json()
        assert manager.delete(f"/watchlist/{made['id']}").status_code == 204
        assert manager.get("/watchlist").json() == {"version": 2, "entries": []}


def test_a_watch_list_hit_at_a_post_shows_at_the_hub(company: Company) -> None:
    """The hub keeps a visit's `flag`: in its API and on the site page's register."""
    post, hub = company.start_with_post("harbour-view")
    with hub.client() as manager:
        made = manager.post(
            "/watchlist", json={"name": "Wong Ka-ho", "reason": "harassed a resident"}
        )
        assert made.status_code == 201, made.text
    wait_until(
        lambda: any("version 1" in s for s in applied_versions(post)),
        30,
        "the post to apply the watch list",
    )
    with post.client(post.login()) as api:
        flagged = register(api, visitor_name="WONG KA HO")
        clean = register(api, visitor_name="Chan Tai Man")
    assert (flagged["flag"], clean["flag"]) == ("watch_list", None)

    with hub.client() as manager:

        def synced() -> list[dict[str, Any]]:
            visits = manager.get("/visits", params={"site": "harbour-view"}).json()["visits"]
            return visits if len(visits) == 2 else []

        visits = wait_until(synced, 30, "the hub to have both visits")
    assert {v["id"]: v["flag"] for v in visits} == {flagged["id"]: "watch_list", clean["id"]: None}

    login = httpx.post(f"{hub.url}/login", data=MANAGER)
    assert login.status_code == 303, login.text
    with httpx.Client(base_url=hub.url, timeout=30, cookies=login.cookies) as desk:
        page = desk.get("/sites/harbour-view")
    assert page.status_code == 200
    register_rows = dict(re.findall(r'<tr data-id="([^"]+)"( class="flagged")?>', page.text))
    assert register_rows == {flagged["id"]: ' class="flagged"', clean["id"]: ""}
