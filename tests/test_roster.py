"""Guards from the hub (CONTRACT section 8), against a real broker, hub and posts: a guard the
hub adds logs in at every post of their sites and nowhere else; disabled, their token stops
working and login is refused, also once the hub and the broker are gone; the PIN leaves the
hub only as its hash and no answer or page of the hub shows either."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import both_engines
from tests.helpers import (
    GUARD,
    MANAGER,
    Company,
    EdgeServer,
    HubServer,
    add_user,
    error_fields,
    running,
    wait_until,
)

HARBOUR, SKY, PARK = "harbour-view", "sky-tower", "park-lane"
HUB_GUARD = {"badge": "7001", "name": "何志明", "pin": "864200", "role": "guard"}
SUPERVISOR = {"username": "sup", "password": "sup-pass-123"}
AUDITOR = {"username": "aud", "password": "aud-pass-123"}


def login_status(post: EdgeServer, person: dict[str, str]) -> int:
    answer = httpx.post(
        f"{post.url}/api/v1/auth/login",
        json={"badge": person["badge"], "pin": person["pin"]},
        timeout=30,
    )
    return answer.status_code


def roster_version(post: EdgeServer) -> int:
    with post.client(post.login()) as api:
        return int(api.get("/settings").json()["versions"]["roster"])


def token_status(post: EdgeServer, token: str) -> int:
    with post.client(token) as api:
        return api.get("/settings").status_code


def hub_pages(hub: HubServer, *paths: str) -> str:
    login = httpx.post(f"{hub.url}/login", data=MANAGER)
    with httpx.Client(base_url=hub.url, timeout=30, cookies=login.cookies) as desk:
        answers = [desk.get(path) for path in paths]
    assert all(a.status_code == 200 for a in answers), [a.status_code for a in answers]
    return "".join(a.text for a in answers)


def test_a_hub_guard_works_at_their_sites_only_and_is_locked_out_when_disabled(
    company: Company,
) -> None:
    harbour = company.add_post(HARBOUR, "lobby-1")
    sky = company.add_post(SKY, "lobby-1")
    park = company.add_post(PARK, "lobby-1")
    hub = company.start_hub()
    for post in (harbour, sky, park):
        post.start()
    with hub.client() as manager:
        added = manager.post("/guards", json={**HUB_GUARD, "sites": [SKY, HARBOUR]})
        assert added.status_code == 201, added.text
        assert added.json() == {
            "badge": "7001",
            "name": "何志明",
            "role": "guard",
            "sites": [HARBOUR, SKY],
            "disabled": False,
        }
    for post in (harbour, sky):
        wait_until(lambda p=post: login_status(p, HUB_GUARD) == 200, 30, "the hub's guard")
        assert roster_version(post) == 1
    assert login_status(park, HUB_GUARD) == 401
    assert roster_version(park) == 0
    token = harbour.login(HUB_GUARD)
    assert token_status(harbour, token) == 200
    other_token = sky.login(HUB_GUARD)

    with hub.client() as manager:
        disabled = manager.post("/guards/7001/disable", json={"reason": "left the company"})
        assert disabled.status_code == 200, disabled.text
        assert disabled.json()["disabled"] is True
        listed = manager.get("/guards").json()
        assert listed == {"guards": [{**added.json(), "disabled": True}]}
    for post, its_token in ((harbour, token), (sky, other_token)):
        wait_until(lambda p=post: roster_version(p) == 2, 30, "the disabling roster")
        wait_until(lambda p=post, t=its_token: token_status(p, t) == 401, 10, "the ended token")
        assert login_status(post, HUB_GUARD) == 401
    assert login_status(harbour, GUARD) == 200  # the post's own guard (`add-guard`) still works

    newcomer = company.add_post(HARBOUR, "lobby-2")  # a post provisioned after the changes
    newcomer.start()
    wait_until(lambda: roster_version(newcomer) == 2, 30, "the roster at a new post")
    assert login_status(newcomer, HUB_GUARD) == 401
    newcomer.stop()

    shown = hub_pages(hub, "/", f"/sites/{HARBOUR}", "/audit")
    assert "7001" in shown  # the audit page lists the changes
    with hub.client() as manager:
        answers = manager.get("/guards").text + manager.get(f"/guards?site={SKY}").text
    for secret in ("$argon2", HUB_GUARD["pin"]):
        assert secret not in shown + answers, secret
    assert "pin" not in answers

    hub.stop()
    company.broker.stop()
    harbour.stop()
    harbour.start()  # offline, after a restart too
    assert login_status(harbour, HUB_GUARD) == 401
    assert token_status(harbour, token) == 401
    assert login_status(harbour, GUARD) == 200
    assert login_status(sky, HUB_GUARD) == 401


@both_engines
def test_only_a_manager_changes_guards_and_bad_bodies_are_named(company: Company) -> None:
    company.add_post(HARBOUR, "lobby-1")
    company.add_post(SKY, "lobby-1")
    add_user(company.hub_data, SUPERVISOR, "supervisor", HARBOUR)
    add_user(company.hub_data, AUDITOR, "auditor", HARBOUR)
    with running(HubServer(company.hub_data)) as hub:
        with hub.client() as manager:
            body: dict[str, Any] = {**HUB_GUARD, "sites": [HARBOUR]}
            assert manager.post("/guards", json=body).status_code == 201
            assert manager.post("/guards", json=body).status_code == 409
            sky_guard = {**body, "badge": "7002", "sites": [SKY], "role": "supervisor"}
            assert manager.post("/guards", json=sky_guard).status_code == 201
            for change, field in (
                ({"pin": "12"}, "pin"),
                ({"pin": "12ab"}, "pin"),
                ({"pin": "123456789"}, "pin"),
                ({"badge": ""}, "badge"),
                ({"badge": "a\nb"}, "badge"),
                ({"name": " "}, "name"),
                ({"role": "manager"}, "role"),
                ({"sites": []}, "sites"),
                ({"sites": ["nowhere"]}, "sites"),
            ):
                refused = manager.post("/guards", json={**body, "badge": "7999", **change})
                assert (refused.status_code, error_fields(refused)) == (422, [field]), change
            for missing in ("badge", "name", "pin", "sites"):
                partial = {k: v for k, v in body.items() if k != missing}
                refused = manager.post("/guards", json=partial)
                assert (refused.status_code, error_fields(refused)) == (422, [missing])
            assert manager.post("/guards/nobody/disable", json={}).status_code == 404
        with hub.client(SUPERVISOR) as supervisor:
            mine = supervisor.get(f"/guards?site={HARBOUR}")
            assert [g["badge"] for g in mine.json()["guards"]] == ["7001"]
            assert [g["badge"] for g in supervisor.get("/guards").json()["guards"]] == ["7001"]
            assert supervisor.get(f"/guards?site={SKY}").status_code == 404
            assert supervisor.post("/guards", json={**body, "badge": "7003"}).status_code == 403
            assert supervisor.post("/guards/7001/disable", json={}).status_code == 403
        with hub.client(AUDITOR) as auditor:
            assert auditor.get("/guards").status_code == 403
            assert auditor.post("/guards", json={**body, "badge": "7004"}).status_code == 403
        with httpx.Client(base_url=f"{hub.url}/api/v1", timeout=30) as anonymous:
            assert anonymous.get("/guards").status_code == 401
            assert anonymous.post("/guards", json=body).status_code == 401
            assert anonymous.post("/guards/7001/disable", json={}).status_code == 401
        with hub.client() as manager:
            listed = manager.get("/guards").json()["guards"]
            assert [(g["badge"], g["disabled"]) for g in listed] == [
                ("7001", False),
                ("7002", False),
            ]
            audit = [a for a in hub_audit(hub) if "Added a guard" in a or "Disabled a guard" in a]
            assert len(audit) == 2


def hub_audit(hub: HubServer) -> list[str]:
    page = hub_pages(hub, "/audit?lang=en")
    return [line for line in page.splitlines() if "7001" in line or "7002" in line]


def test_the_roster_line_is_worded_in_each_language() -> None:
    from service.i18n import gettext_for
    from service.pages_text import labels_for, line_text

    line = {
        "type": "roster.applied",
        "data": {"version": 3, "guards": 5, "disabled": 1, "by": "hub:roster"},
        "summary": "x",
    }
    worded = {}
    for lang in ("en", "zh-Hant", "zh-Hans"):
        _ = gettext_for(lang)
        worded[lang] = line_text(_, labels_for(_), line)
    assert worded == {
        "en": "Roster version 3 from the hub in force (5 guards, 1 disabled)",
        "zh-Hant": "來自總部的保安名冊第 3 版生效（5 名保安，1 名已停用）",
        "zh-Hans": "来自总部的保安名册第 3 版生效（5 名保安，1 名已停用）",
    }
