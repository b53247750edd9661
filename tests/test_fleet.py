"""Running a company's posts from the hub (CONTRACT section 8): sites and their settings go
down as versioned messages, against a real broker, hub and posts: each post applies a version
once and in order, keeps it across restarts, and uses it (new incidents' `due_at`)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from schemas.ids import new_id, parse_time
from tests.helpers import (
    MANAGER,
    Company,
    EdgeServer,
    HubServer,
    Tap,
    add_user,
    error_fields,
    running,
    wait_until,
)

SITE = "harbour-view"
LOCAL = {
    "site": SITE,
    "name": SITE,
    "deadlines_h": {"minor": 72.0, "medium": 24.0, "severe": 1.0},
    "retention_days": 30,
    "held_open_s": 120.0,
    "idle_minutes": 10.0,
    "default_lang": "zh-Hant",
    "patrol_missed_severity": "medium",
    "versions": {"settings": 0, "roster": 0, "directory": 0, "patrols": 0},
}
DIRECTORY_CSV = "unit,intercom,residents\n21A,2101,何太太\n21B,,\n\n22C,2203,Mr Ho\n"
SUPERVISOR = {"username": "sup", "password": "sup-pass-123"}
OTHER_SUPERVISOR = {"username": "sup2", "password": "sup2-pass-123"}


def post_settings(post: EdgeServer) -> dict[str, Any]:
    with post.client(post.token()) as api:
        answer = api.get("/settings")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def settings_version(post: EdgeServer, version: int) -> dict[str, Any] | None:
    settings = post_settings(post)
    return settings if settings["versions"]["settings"] == version else None


def applied_lines(post: EdgeServer) -> list[tuple[str, str]]:
    with post.client(post.token()) as api:
        entries = api.get("/logbook").json()["entries"]
    return [(e["record_id"], e["summary"]) for e in entries if e["type"] == "settings.applied"]


def open_incident(post: EdgeServer, severity: str) -> timedelta:
    """A new incident's time to its deadline (`due_at` minus when it was opened)."""
    with post.client(post.login()) as api:
        made = api.post(
            "/incidents", json={"category": "noise", "severity": severity, "title": "loud party"}
        )
    assert made.status_code == 201, made.text
    incident = made.json()
    return parse_time(incident["due_at"]) - parse_time(incident["opened_at"])


def test_a_post_without_a_hub_answers_its_own_settings(
    shared_post: EdgeServer,
) -> None:
    assert post_settings(shared_post) == LOCAL
    assert httpx.get(f"{shared_post.url}/api/v1/settings").status_code == 401
    with shared_post.client(shared_post.keys["door"]) as door:  # type: ignore[attr-defined]
        assert door.get("/settings").status_code == 403


def test_the_hubs_deadlines_and_name_reach_the_post_and_its_next_incident(
    company: Company,
) -> None:
    post, hub = company.start_with_post(SITE)
    assert open_incident(post, "severe") == timedelta(hours=1)  # the post's own deadline
    with hub.client() as manager:
        site = manager.put(
            f"/sites/{SITE}",
            json={
                "name": "海景大廈 Harbour View",
                "timezone": "Asia/Hong_Kong",
                "kind": "residential",
            },
        )
        assert site.status_code == 200, site.text
        changed = manager.put(
            f"/sites/{SITE}/settings", json={"deadlines_h": {"severe": 2, "medium": 12}}
        )
        assert changed.status_code == 200, changed.text
        assert changed.json() == {
            "site": SITE,
            "name": "海景大廈 Harbour View",
            "timezone": "Asia/Hong_Kong",
            "kind": "residential",
            "settings": {"deadlines_h": {"medium": 12.0, "severe": 2.0}},
            "version": 2,
        }
        assert manager.get("/sites").json() == {"sites": [changed.json()]}

    settings = wait_until(lambda: settings_version(post, 2), 30, "the post to apply version 2")
    assert settings == {
        **LOCAL,
        "name": "海景大廈 Harbour View",
        "deadlines_h": {"minor": 72.0, "medium": 12.0, "severe": 2.0},
        "versions": {"settings": 2, "roster": 0, "directory": 0, "patrols": 0},
    }
    assert open_incident(post, "severe") == timedelta(hours=2)
    assert open_incident(post, "minor") == timedelta(hours=72)  # not set at the hub: the post's
    home = httpx.get(f"{post.url}/login", params={"lang": "en"})
    assert "海景大廈 Harbour View" in home.text

    login = httpx.post(f"{hub.url}/login", data=MANAGER)
    with httpx.Client(base_url=hub.url, timeout=30, cookies=login.cookies) as desk:
        overview = desk.get("/")
    assert f'<a href="/sites/{SITE}">海景大廈 Harbour View</a>' in overview.text


def test_settings_sent_while_a_post_is_away_apply_once_in_order_and_survive_a_restart(
    company: Company,
) -> None:
    post, hub = company.start_with_post(SITE)
    tap = Tap(
        company, company.hub_account["username"], company.hub_account["password"], ["guardpost/#"]
    )
    try:
        with hub.client() as manager:
            first = manager.put(f"/sites/{SITE}/settings", json={"idle_minutes": 3})
            assert first.json()["version"] == 1
        wait_until(lambda: settings_version(post, 1), 30, "the post to apply version 1")

        post.stop()  # the building's line is down while the hub changes the settings twice
        with hub.client() as manager:
            second = manager.put(f"/sites/{SITE}/settings", json={"retention_days": 10})
            third = manager.put(
                f"/sites/{SITE}/settings", json={"held_open_s": 30, "default_lang": "en"}
            )
            assert [second.json()["version"], third.json()["version"]] == [2, 3]
        post.start()
        expected = {
            **LOCAL,
            "retention_days": 10,
            "held_open_s": 30.0,
            "idle_minutes": 3.0,
            "default_lang": "en",
            "versions": {"settings": 3, "roster": 0, "directory": 0, "patrols": 0},
        }
        assert wait_until(lambda: settings_version(post, 3), 30, "version 3") == expected
        # version 2 was superseded before it left the hub: the post applied 1, then 3, once each
        applied = [summary for _, summary in applied_lines(post)]
        assert applied == [
            "Settings version 1 from the hub in force",
            "Settings version 3 from the hub in force",
        ]

        # an older version arriving late (say a broker's queue), and version 3 again
        down = f"guardpost/v1/{SITE}/down"
        sent = [
            json.loads(payload)
            for topic, payload in tap.messages
            if topic == down and b'"settings"' in payload
        ]
        latest = next(m for m in sent if m["version"] == 3)
        stale = {**latest, "id": new_id(), "version": 2, "settings": {"retention_days": 99}}
        tap.publish(down, json.dumps(stale).encode())
        tap.publish(down, json.dumps(latest).encode())
        wait_until(lambda: len(applied_lines(post)) == 3, 30, "the stale message's event")
        assert post_settings(post) == expected  # the newer version stays
        assert [record_id for record_id, _ in applied_lines(post)][1:] == [
            latest["id"],
            stale["id"],
        ]
    finally:
        tap.close()

    post.stop()
    post.start()  # kept across a restart, with no new message from the hub
    assert post_settings(post) == expected
    assert len(applied_lines(post)) == 3
    home = httpx.get(f"{post.url}/login")
    assert '<html lang="en"' in home.text  # the hub's default language


def test_who_may_read_and_change_sites_and_settings(company: Company) -> None:
    company.add_post(SITE, "lobby-1")
    company.add_post("sky-tower", "lobby-1")
    add_user(company.hub_data, SUPERVISOR, "supervisor", SITE)
    add_user(company.hub_data, OTHER_SUPERVISOR, "supervisor", "sky-tower")
    hub = HubServer(company.hub_data)
    with running(hub):
        with httpx.Client(base_url=f"{hub.url}/api/v1", timeout=30) as anonymous:
            assert anonymous.get("/sites").status_code == 401
            refused = anonymous.put(f"/sites/{SITE}/settings", json={"retention_days": 5})
            assert refused.status_code == 401
        with hub.client() as manager:
            named = manager.put(f"/sites/{SITE}", json={"name": "Harbour View"})
            assert named.status_code == 200, named.text
            assert [s["site"] for s in manager.get("/sites").json()["sites"]] == [
                SITE,
                "sky-tower",
            ]
        with hub.client(SUPERVISOR) as supervisor:
            mine = supervisor.get("/sites").json()["sites"]
            assert [(s["site"], s["name"], s["version"]) for s in mine] == [
                (SITE, "Harbour View", 1)
            ]
            assert supervisor.get(f"/sites/{SITE}").json() == mine[0]
            assert supervisor.get("/sites/sky-tower").status_code == 404
            assert supervisor.put(f"/sites/{SITE}", json={"name": "X"}).status_code == 403
            own = supervisor.put(f"/sites/{SITE}/settings", json={"retention_days": 5})
            assert own.status_code == 403
        with hub.client(OTHER_SUPERVISOR) as other:
            assert other.put(f"/sites/{SITE}/settings", json={"retention_days": 5}).status_code == (
                404
            )
            assert other.put(f"/sites/{SITE}", json={"name": "X"}).status_code == 404

        with hub.client() as manager:
            assert manager.put("/sites/nowhere/settings", json={"idle_minutes": 5}).status_code == (
                404
            )
            bad_settings = [
                ({"retention_days": 0}, ["retention_days"]),
                ({"deadlines_h": {"severe": -1}}, ["severe"]),
                ({"held_open_s": "long"}, ["held_open_s"]),
                ({"idle_minutes": 0}, ["idle_minutes"]),
                ({"default_lang": "fr"}, ["default_lang"]),
                ({}, ["body"]),
                ({"deadlines_h": {}}, ["body"]),
            ]
            for body, fields in bad_settings:
                answer = manager.put(f"/sites/{SITE}/settings", json=body)
                assert (answer.status_code, error_fields(answer)) == (422, fields), body
            bad_sites = [
                (SITE, {"name": ""}, ["name"]),
                (SITE, {"name": "X", "kind": "castle"}, ["kind"]),
                (SITE, {"name": "X", "timezone": "Mars/Olympus"}, ["timezone"]),
                ("Bad Site", {"name": "X"}, ["site"]),
            ]
            for slug, body, fields in bad_sites:
                answer = manager.put(f"/sites/{slug}", json=body)
                assert (answer.status_code, error_fields(answer)) == (422, fields), body
            raw = manager.put(
                f"/sites/{SITE}/settings",
                content=b"{not json",
                headers={"Content-Type": "application/json"},
            )
            assert raw.status_code == 422
            # nothing of the refused bodies was kept
            assert manager.get(f"/sites/{SITE}").json()["version"] == 1


def suggestions(post: EdgeServer, q: str) -> list[str]:
    with post.client(post.token()) as api:
        return [u["unit"] for u in api.get("/units", params={"q": q}).json()["units"]]


def test_a_directory_upload_replaces_the_posts_directory_and_its_suggestions(
    company: Company,
) -> None:
    post, hub = company.start_with_post(SITE)
    assert suggestions(post, "12") == ["12A", "12B"]  # from the post's own import-units
    with hub.client() as manager:
        uploaded = manager.put(
            f"/sites/{SITE}/units",
            content=DIRECTORY_CSV.encode(),
            headers={"Content-Type": "text/csv"},
        )
        assert uploaded.status_code == 200, uploaded.text
        assert uploaded.json() == {"version": 1, "units": 3}
    wait_until(
        lambda: post_settings(post)["versions"]["directory"] == 1, 30, "the post's directory"
    )
    assert suggestions(post, "12") == []
    assert suggestions(post, "2") == ["21A", "21B", "22C"]
    assert suggestions(post, "何") == ["21A"]
    with post.client(post.login()) as api:
        gone = api.post("/visits", json={"visitor_name": "A", "unit": "12A", "category": "guest"})
        assert (gone.status_code, error_fields(gone)) == (422, ["unit"])

    post.stop()  # a JSON list while the post is away: it gets it when it is back
    with hub.client() as manager:
        listed = manager.put(
            f"/sites/{SITE}/units", json=[{"unit": "8F", "intercom": "0801", "residents": "Lam"}]
        )
        assert listed.json() == {"version": 2, "units": 1}
    post.start()
    wait_until(lambda: post_settings(post)["versions"]["directory"] == 2, 30, "version 2")
    assert suggestions(post, "") == ["8F"]


def test_a_bad_directory_is_refused_naming_the_line_and_field(company: Company) -> None:
    company.add_post(SITE, "lobby-1")
    add_user(company.hub_data, SUPERVISOR, "supervisor", SITE)
    with running(HubServer(company.hub_data)) as hub:
        csv_headers = {"Content-Type": "text/csv"}
        with hub.client(SUPERVISOR) as supervisor:
            refused = supervisor.put(f"/sites/{SITE}/units", content=b"", headers=csv_headers)
            assert refused.status_code == 403
            assert supervisor.put("/sites/sky-tower/units", json=[]).status_code == 404
        with httpx.Client(base_url=f"{hub.url}/api/v1", timeout=30) as anonymous:
            assert anonymous.put(f"/sites/{SITE}/units", json=[]).status_code == 401
        with hub.client() as manager:
            assert manager.put("/sites/nowhere/units", json=[{"unit": "1A"}]).status_code == 404
            bad_csv = [
                ("flat,phone\n12A,1\n", ["body", "line 1", "header"]),
                ("unit,intercom,residents\n12A,1201,x\n12B,1\n", ["body", "line 3"]),
                ("unit,intercom,residents\n12A,,\n ,1,x\n", ["body", "line 3", "unit"]),
                ("unit,intercom,residents\n", ["body"]),
            ]
            for text, loc in bad_csv:
                answer = manager.put(f"/sites/{SITE}/units", content=text, headers=csv_headers)
                assert answer.status_code == 422, text
                assert answer.json()["detail"][0]["loc"] == loc, text
            bad_json = [
                ({"unit": "1A"}, ["body"]),
                ([{"unit": "1A"}, {"intercom": "2"}], ["body", "1", "unit"]),
                ([{"unit": "x" * 33}], ["body", "0", "unit"]),
                ([], ["body"]),
            ]
            for body, loc in bad_json:
                answer = manager.put(f"/sites/{SITE}/units", json=body)
                assert answer.status_code == 422, body
                assert answer.json()["detail"][0]["loc"] == loc, body
            broken = manager.put(
                f"/sites/{SITE}/units", content=b"[{", headers={"Content-Type": "application/json"}
            )
            assert (broken.status_code, broken.json()["detail"][0]["loc"]) == (422, ["body"])
            latin = manager.put(f"/sites/{SITE}/units", content=b"\xff\xfe", headers=csv_headers)
            assert latin.status_code == 422
            ok = manager.put(f"/sites/{SITE}/units", json=[{"unit": "1A"}, {"unit": "1a"}])
            assert ok.json() == {"version": 1, "units": 1}  # nothing refused was kept


def test_the_sites_time_zone_from_the_hub_decides_the_posts_days(company: Company) -> None:
    """Kiritimati (UTC+14) and Pago Pago (UTC-11) are 25 hours apart: a moment always falls on
    different dates there, so the day a post files an event under says which zone it uses."""
    post = company.add_post(SITE, "lobby-1")
    post.env["GUARDPOST_TIMEZONE"] = "Pacific/Pago_Pago"  # the post's own, until the hub's
    hub = company.start_hub()
    post.start()

    def filed_under(zone: str) -> str:
        with post.client(post.login()) as api:
            note = api.post("/shift-notes", json={"text": f"in {zone}"}).json()
            day = parse_time(note["at"]).astimezone(ZoneInfo(zone)).date().isoformat()
            lines = api.get("/logbook", params={"date": day}).json()["entries"]
        return "yes" if note["id"] in [line["record_id"] for line in lines] else "no"

    assert filed_under("Pacific/Pago_Pago") == "yes"
    with hub.client() as manager:
        named = manager.put(f"/sites/{SITE}", json={"name": "X", "timezone": "Pacific/Kiritimati"})
        assert named.status_code == 200, named.text
    wait_until(lambda: settings_version(post, 1), 30, "the post to apply the site's record")
    assert filed_under("Pacific/Kiritimati") == "yes"
    assert filed_under("Pacific/Pago_Pago") == "no"
    post.stop()
    post.start()  # kept across a restart
    assert filed_under("Pacific/Kiritimati") == "yes"
    company.stop_all(hub)
