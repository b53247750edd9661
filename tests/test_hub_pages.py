"""The supervisors' dashboard in a real Chromium, against a real hub fed by two real posts
through a real Mosquitto: each role's overview, a post going offline, a tampered post, and a
supervisor's entry reaching the post."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect

from schemas.canonical import canonical_json, event_hash
from schemas.ids import format_time, utc_now
from schemas.topics import events_topic
from tests.bodies import new_visit
from tests.browser import every_language_and_screen, hub_log_in, shot, small_targets, tab, too_wide
from tests.helpers import MANAGER, Company, EdgeServer, HubServer, Tap, add_user, wait_until

SUPERVISOR = {"username": "wong", "password": "wong-pass-1"}
AUDITOR = {"username": "audit", "password": "audit-pass-1"}


class World:
    def __init__(self, company: Company) -> None:
        self.company = company
        for user, role in ((SUPERVISOR, "supervisor"), (AUDITOR, "auditor")):
            add_user(company.hub_data, user, role, "harbour-view")
        self.harbour = company.add_post("harbour-view", "lobby-1")
        self.sunrise = company.add_post("sunrise-court", "lobby-1")
        company.broker.start()
        self.hub: HubServer = company.hub().start()
        company.extra = [self.hub]
        self.incidents: dict[str, dict[str, Any]] = {}
        for post in (self.harbour, self.sunrise):
            post.start()
            with post.client(post.login()) as api:
                api.post("/visits", json=new_visit(id_number="A1234567(8)"))
                self.incidents[post.data.name] = api.post(
                    "/incidents",
                    json={
                        "category": "emergency",
                        "severity": "severe",
                        "title": f"Lift entrapment {post.data.name}",
                    },
                ).json()
        for post in (self.harbour, self.sunrise):
            wait_until(lambda post=post: self.synced(post), 30, "the posts to sync")

    def synced(self, post: EdgeServer) -> bool:
        with post.client(post.token()) as api:
            state = api.get("/sync").json()
        return bool(state["backlog"] == 0 and state["last_seq"] > 0)


@pytest.fixture
def world(company: Company) -> Iterator[World]:
    yield World(company)


def test_each_role_sees_its_sites_and_nothing_else(browser: Browser, world: World) -> None:
    hub = world.hub
    for page in tab(browser):
        hub_log_in(page, hub, MANAGER, "zh-Hant")
        expect(page.locator("[data-site]")).to_have_count(2)
        for site in ("harbour-view", "sunrise-court"):
            device = page.locator(f"[data-site='{site}'] [data-device='lobby-1']")
            expect(device).to_have_attribute("data-online", "true")
            expect(device).to_contain_text("0 項待同步")
        urgent = page.locator("section").first.locator("li[data-id]")
        expect(urgent).to_have_count(2)  # both severe incidents, first
        shot(page, "hub-overview-zh-Hant")
    for page in tab(browser):
        hub_log_in(page, hub, SUPERVISOR)
        expect(page.locator("[data-site]")).to_have_count(1)
        expect(page.locator("[data-site='harbour-view']")).to_be_visible()
        assert page.goto(f"{hub.url}/sites/sunrise-court").status == 404
        other = world.incidents["sunrise-court-lobby-1"]["id"]
        assert page.goto(f"{hub.url}/incidents/{other}").status == 404
        assert "Lift entrapment sunrise" not in page.goto(f"{hub.url}/incidents").text()
        page.goto(f"{hub.url}/sites/harbour-view")
        expect(page.locator("main")).to_contain_text("陳小明")
        expect(page.locator("main")).to_contain_text("A****567(8)")
        assert "1234567(8)" not in page.content().replace("A****567(8)", "")
        shot(page, "hub-site-en")
    for page in tab(browser):
        hub_log_in(page, hub, AUDITOR)
        mine = world.incidents["harbour-view-lobby-1"]["id"]
        page.goto(f"{hub.url}/incidents/{mine}")
        expect(page.locator("textarea[name=text]")).to_have_count(0)  # read-only
    anonymous = httpx.get(f"{hub.url}/", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login"


def test_a_supervisors_entry_reaches_the_post(browser: Browser, world: World) -> None:
    incident = world.incidents["harbour-view-lobby-1"]
    for page in tab(browser):
        hub_log_in(page, world.hub, SUPERVISOR, "zh-Hans")
        page.goto(f"{world.hub.url}/incidents/{incident['id']}")
        page.click("form.entry button[type=submit]")  # empty: refused next to the field
        expect(page.locator(".entry .error")).to_have_text("请填写此栏。")
        page.select_option("select[name=kind]", "escalation")
        page.fill("textarea[name=text]", "已通知消防處，經理正趕往現場")
        page.click("main button[type=submit]")
        expect(page.locator(".timeline")).to_contain_text("已通知消防處，經理正趕往現場")
        shot(page, "hub-incident-zh-Hans")
    post = world.harbour

    def arrived() -> bool:
        with post.client(post.token()) as api:
            entries = api.get(f"/incidents/{incident['id']}").json()["entries"]
        return any(e["author"] == "hub:wong" and e["kind"] == "escalation" for e in entries)

    wait_until(arrived, 30, "the supervisor's entry at the post")


def test_a_post_that_dies_shows_offline_and_a_forged_batch_raises_the_alarm(
    browser: Browser, world: World
) -> None:
    hub = world.hub
    for page in tab(browser):
        hub_log_in(page, hub, MANAGER)
        sunrise = page.locator("[data-site='sunrise-court'] [data-device='lobby-1']")
        expect(sunrise).to_have_attribute("data-online", "true")
        world.sunrise.kill9()  # power cut: only the broker's last will tells the hub
        expect(sunrise).to_have_attribute("data-online", "false", timeout=60_000)

        # a batch that does not link to what the hub holds, in the harbour post's name
        with world.harbour.client(world.harbour.login()) as api:
            last = api.get("/sync").json()["last_seq"]
        event: dict[str, Any] = {
            "seq": last + 1,
            "id": "forged",
            "type": "shift.note",
            "at": format_time(utc_now()),
            "record_id": "forged",
            "data": {"text": "nothing happened", "by": "guard:1001"},
            "pii_digest": None,
            "prev_hash": "f" * 64,
        }
        event["hash"] = event_hash(event)
        event["pii"] = None
        account = world.company.hub_account
        tap = Tap(world.company, account["username"], account["password"])
        try:
            tap.publish(
                events_topic("harbour-view", "lobby-1"),
                canonical_json({"site": "harbour-view", "device": "lobby-1", "events": [event]}),
            )
        finally:
            tap.close()
        alarm = page.locator("[data-site='harbour-view'] [role=alert]")
        expect(alarm).to_contain_text("TAMPERED", timeout=15_000)
        expect(page.locator("[data-site]").first).to_have_attribute("data-site", "harbour-view")
        shot(page, "hub-alarm-en")
        assert re.search(r"data-online=\"false\"", page.content())


def test_search_finds_chinese_words_and_every_view_is_audited(
    browser: Browser, world: World
) -> None:
    with world.harbour.client(world.harbour.login()) as api:
        api.post(
            "/incidents",
            json={"category": "complaint", "severity": "minor", "title": "樓上裝修噪音投訴"},
        )
    wait_until(lambda: world.synced(world.harbour), 30, "the complaint to reach the hub")
    for page in tab(browser):
        hub_log_in(page, world.hub, SUPERVISOR, "zh-Hant")
        for words in ("噪音", "裝修噪音"):  # two characters (a scan) and four (the index)
            page.goto(f"{world.hub.url}/search?q={words}")
            expect(page.locator("main table")).to_contain_text("樓上裝修噪音投訴")
        page.goto(f"{world.hub.url}/search?q=陳小明")
        rows = page.locator("main table tr")
        expect(rows).to_have_count(1)  # the same name at sunrise-court is not this user's
        expect(rows).to_contain_text("harbour-view")
        shot(page, "hub-search-zh-Hant")
        page.click(".langs a[href$='lang=en']")  # the same search, in English
        expect(page.locator("input[name=q]")).to_have_value("陳小明")
        expect(page.locator("main table tr")).to_have_count(1)
        expect(page.locator("html")).to_have_attribute("lang", "en")
        assert page.goto(f"{world.hub.url}/audit").status == 403
        bad_dates = page.goto(f"{world.hub.url}/search?q=噪音&from=not-a-date&to=9999-99-99")
        assert bad_dates.status == 422  # the message next to each date, nothing searched
        expect(page.locator("#from-error")).to_contain_text("2000-01-01")
        expect(page.locator("#to-error")).to_contain_text("2100-12-31")
        page.goto(f"{world.hub.url}/sites/harbour-view?lang=zh-Hant")  # worded in the language
        expect(page.locator("main")).to_contain_text("訪客 陳小明 到訪 12A（訪客，共 1 人）")
    with world.hub.client() as manager:
        both = manager.get("/search", params={"q": "陳小明"}).json()["entries"]
        assert sorted(e["site"] for e in both) == ["harbour-view", "sunrise-court"]
        audit = manager.get("/audit").json()["entries"]
        seen = [(e["username"], e["action"], e["target"]) for e in audit]
        assert ("wong", "search", "q=陳小明 site=*") in seen
        assert ("manager", "api search", "q=陳小明 site=*") in seen
    with world.hub.client(SUPERVISOR) as supervisor:
        assert supervisor.get("/audit").status_code == 403


HUB_PAGES = [
    "/",
    "/sites/harbour-view",
    "/incidents",
    "/incidents/{incident}",
    "/search?q=陳小明",
    "/audit",
    "/rules",
    "/watchlist",
    "/reports",
    "/reports/daily?site=harbour-view",
    "/reports/monthly",
]


def test_every_hub_page_in_every_language_on_a_desk_and_on_a_phone(
    browser: Browser, world: World
) -> None:
    """A supervisor on patrol opens the hub on a phone: every page in its language, every
    control at least 44 px, nothing wider than the screen (wide tables scroll in place)."""
    incident = world.incidents["harbour-view-lobby-1"]["id"]
    paths = [p.format(incident=incident) for p in HUB_PAGES]
    desk = {"width": 1280, "height": 800}
    for page, lang, _, label in every_language_and_screen(browser, world.hub.url, desk):
        assert small_targets(page) == [] and too_wide(page) is None, (lang, "/login")
        hub_log_in(page, world.hub, MANAGER, lang)
        for path in paths:
            assert page.goto(f"{world.hub.url}{path}").status == 200, path
            expect(page.locator("html")).to_have_attribute("lang", lang)
            assert small_targets(page) == [], (lang, label, path)
            assert too_wide(page) is None, (lang, label, path)
        if label and lang == "zh-Hant":
            page.goto(f"{world.hub.url}/")
            shot(page, "hub-overview-zh-Hant-phone")


def test_a_manager_sets_who_is_notified_and_whom_the_posts_watch_for(
    browser: Browser, world: World
) -> None:
    hub, post = world.hub, world.harbour
    for page in tab(browser):
        hub_log_in(page, hub, MANAGER, "zh-Hant")
        page.click(".menu a[href='/rules']")
        page.fill("input[name=url]", "nonsense://nowhere")
        page.click("main form.card button[type=submit]")
        expect(page.locator("main .error")).to_contain_text("Apprise 不認識此地址")
        expect(page.locator("input[name=url]")).to_have_value("nonsense://nowhere")  # kept
        page.select_option("select[name=severity]", "medium")
        page.select_option("select[name=site]", "harbour-view")
        page.uncheck("input[name=events][value=opened]")
        page.fill("input[name=url]", "mailto://ops:secret-pw@mail.example.com?to=ops@example.com")
        page.click("main form.card button[type=submit]")
        rule = page.locator("table.rules tbody tr[data-id]")
        expect(rule).to_have_count(1)
        expect(rule).to_contain_text("harbour-view")
        expect(rule).to_contain_text("逾期時")
        assert "secret-pw" not in page.content()  # the address's password is never shown
        shot(page, "hub-rules-zh-Hant")

        page.click(".menu a[href='/watchlist']")
        page.fill("input[name=reason]", "曾於大堂滋擾")
        page.click("main form.card button[type=submit]")  # neither an ID number nor a name
        expect(page.locator("main .error")).to_have_text("請填寫身份證號碼或姓名，或兩者。")
        expect(page.locator("input[name=reason]")).to_have_value("曾於大堂滋擾")
        page.fill("input[name=id_number]", "Z987654(3)")
        page.click("main form.card button[type=submit]")
        entry = page.locator("table.watchlist tbody tr[data-id]")
        expect(entry).to_contain_text("Z***654(3)")
        assert "987654" not in page.content()
        shot(page, "hub-watchlist-zh-Hant")

    def applied() -> bool:
        with post.client(post.token()) as api:
            return any(
                e["type"] == "watchlist.applied" for e in api.get("/logbook").json()["entries"]
            )

    wait_until(applied, 30, "the post to get the watch list")
    with post.client(post.login()) as api:
        flagged = api.post("/visits", json=new_visit("Someone", id_number="Z987654(3)"))
        assert flagged.json()["flag"] == "watch_list"

    for page in tab(browser):
        hub_log_in(page, hub, SUPERVISOR)
        for path in ("/rules", "/watchlist"):
            assert page.goto(f"{hub.url}{path}").status == 403, path
        expect(page.locator(".menu a[href='/rules']")).to_have_count(0)
        token = page.locator("input[name=csrf]").first.get_attribute("value")
        refused = page.request.post(
            f"{hub.url}/rules",
            form={"csrf": token or "", "severity": "minor", "url": "mailto://a@example.com"},
        )
        assert refused.status == 403
    with httpx.Client(base_url=hub.url, timeout=30) as api:
        api.headers["Authorization"] = (
            "Bearer " + api.post("/api/v1/auth/login", json=MANAGER).json()["token"]
        )
        assert [r["severity"] for r in api.get("/api/v1/notify-rules").json()["rules"]] == [
            "medium"
        ]
