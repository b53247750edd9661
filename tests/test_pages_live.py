"""The tablet follows the resident, the doors and the watch list without a reload; every page
in every language, with touch targets and a phone's width (real Chromium, real post)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from edge.logbook import Logbook
from tests.bodies import new_visit, watchlist_message
from tests.browser import every_language_and_screen, log_in, shot, small_targets
from tests.helpers import EdgeServer, GatewaySim, free_port, intercom_args

SECRET = "page-secret"


@pytest.fixture
def servers() -> Iterator[list[EdgeServer | GatewaySim]]:
    started: list[EdgeServer | GatewaySim] = []
    try:
        yield started
    finally:
        for thing in reversed(started):
            thing.stop()


S = TypeVar("S", EdgeServer, GatewaySim)


def serve(servers: list[EdgeServer | GatewaySim], server: S) -> S:
    """`server` started, and stopped when the test ends."""
    servers.append(server)
    return server.start()


def mark(page: Page) -> None:
    """Leave a mark in the page's JavaScript state: it survives live updates, not a reload."""
    page.evaluate("window.notReloaded = true")


def still_marked(page: Page) -> bool:
    return bool(page.evaluate("window.notReloaded === true"))


def fill_in_a_visitor(page: Page, edge: EdgeServer, lang: str, name: str, unit: str) -> None:
    """The guard logs in, in `lang`, and types a visitor's name and flat on the visit form."""
    log_in(page, edge, lang)
    page.goto(f"{edge.url}/visits/new")
    page.fill("input[name=visitor_name]", name)
    page.fill("input[name=unit]", unit)


def submit_the_visit(page: Page) -> None:
    """Send the visit form and land on the new visit's page."""
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/visits/[0-9a-f-]{36}$"))


def test_a_visit_page_follows_the_residents_answer(
    page: Page, post: tuple[Path, dict[str, str]], servers: list[EdgeServer | GatewaySim]
) -> None:
    data, keys = post
    gateway = serve(servers, GatewaySim(SECRET, keys["intercom"], after_s=3))
    edge = serve(servers, EdgeServer(data, extra_args=intercom_args(gateway.webhook, SECRET)))
    fill_in_a_visitor(page, edge, "zh-Hant", "張先生", "12A")
    submit_the_visit(page)
    state = page.locator("dd[data-confirmation]")
    expect(state).to_have_attribute("data-confirmation", "pending")
    expect(state).to_contain_text("正在呼叫單位")
    # the time in, as a Hong Kong guard writes it, in the site's time zone
    local_time = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d")
    expect(page.locator("main dl")).to_contain_text(local_time)
    shot(page, "visit-pending-zh-Hant")
    mark(page)
    expect(state).to_have_attribute("data-confirmation", "approved", timeout=15_000)
    expect(state).to_contain_text("已批准")
    assert still_marked(page)
    shot(page, "visit-approved-zh-Hant")


def test_home_shows_waiting_residents_and_a_forced_door_as_they_happen(
    page: Page, post: tuple[Path, dict[str, str]], servers: list[EdgeServer | GatewaySim]
) -> None:
    data, keys = post
    nobody = f"http://127.0.0.1:{free_port()}/webhook"  # a gateway that is not there
    edge = serve(servers, EdgeServer(data, extra_args=intercom_args(nobody, SECRET, 3)))
    log_in(page, edge)
    mark(page)
    with edge.client(edge.login()) as api:
        visit = api.post(
            "/visits", json={"visitor_name": "Ms Ho", "unit": "3C", "category": "guest"}
        ).json()
    row = page.locator(f"li[data-id='{visit['id']}'] [data-confirmation]")
    expect(row).to_have_attribute("data-confirmation", "pending", timeout=10_000)
    expect(row).to_have_attribute("data-confirmation", "no_answer", timeout=15_000)
    door = httpx.post(
        f"{edge.url}/api/v1/door-events",
        json={"door": "car park", "kind": "forced"},
        headers={"Authorization": f"Bearer {keys['door']}"},
        timeout=10,
    )
    incident = page.locator(f"li[data-id='{door.json()['incident_id']}']")
    expect(incident).to_contain_text("Door forced: car park", timeout=10_000)  # worded
    expect(incident).to_have_class(re.compile("severity-severe"))
    assert still_marked(page)
    shot(page, "home-live-en")
    # nobody answered: the guard lets the visitor in, with a reason
    page.locator(f"li[data-id='{visit['id']}'] a.button").click()
    page.click("button[name=override]")
    expect(page.locator(".override .error")).to_have_text("Please fill this in.")
    page.fill("input[name=reason]", "Resident phoned the desk")
    page.click("button[name=override]")
    expect(page.locator("dd[data-confirmation]")).to_have_attribute(
        "data-confirmation", "overridden"
    )


def test_preapproval_code_on_the_form(
    page: Page, post: tuple[Path, dict[str, str]], servers: list[EdgeServer | GatewaySim]
) -> None:
    data, keys = post
    edge = serve(
        servers, EdgeServer(data, extra_args=intercom_args("http://127.0.0.1:9/x", SECRET))
    )
    made = httpx.post(
        f"{edge.url}/api/v1/intercom/preapprovals",
        json={"unit": "12A", "valid_until": "2099-01-01T00:00:00+00:00"},
        headers={"Authorization": f"Bearer {keys['intercom']}"},
        timeout=10,
    ).json()
    fill_in_a_visitor(page, edge, "zh-Hans", "刘师傅", "3C")
    page.fill("input[name=preapproval_code]", made["code"])
    page.click("main button[type=submit]")
    expect(page.locator("#preapproval_code-error")).to_have_text("这个批准码属于另一个单位。")
    expect(page.locator("input[name=visitor_name]")).to_have_value("刘师傅")
    page.fill("input[name=unit]", "12A")
    submit_the_visit(page)
    state = page.locator("dd[data-confirmation]")
    expect(state).to_have_attribute("data-confirmation", "approved")
    expect(state).to_contain_text("住户已预先批准")


def test_a_watch_list_match_warns_the_guard(
    page: Page, post: tuple[Path, dict[str, str]], servers: list[EdgeServer | GatewaySim]
) -> None:
    data, _ = post
    book = Logbook(data)  # as the hub's down message would, on the real database
    try:
        banned = {"id": "w1", "id_hmac": None, "name": "Wong Ka-ho", "reason": "banned"}
        assert book.watchlist.apply_now(
            watchlist_message("msg-1", {**banned, "severity": "severe"})
        )
    finally:
        book.close()
    edge = serve(servers, EdgeServer(data))
    fill_in_a_visitor(page, edge, "zh-Hant", "wong ka ho", "12B")
    submit_the_visit(page)
    alert = page.locator("[role=alert]")
    expect(alert).to_contain_text("此人在監察名單上")
    shot(page, "visit-watch-list-zh-Hant")
    alert.locator("a").click()
    expect(page.locator("main")).to_contain_text("監察名單")


def test_the_register_filters_by_unit_and_on_site(
    page: Page, post: tuple[Path, dict[str, str]], servers: list[EdgeServer | GatewaySim]
) -> None:
    edge = serve(servers, EdgeServer(post[0]))
    with edge.client(edge.login()) as api:
        ids = [
            api.post("/visits", json=new_visit(name, unit)).json()["id"]
            for name, unit in (("A", "12A"), ("B", "12B"), ("C", "12A"))
        ]
        api.post(f"/visits/{ids[0]}/checkout", json={})
    log_in(page, edge)
    page.click("nav.menu a[href='/visits']")
    expect(page.locator("tr[data-id]")).to_have_count(3)
    page.fill("input[name=unit]", "12A")
    page.click("main button[type=submit]")
    expect(page.locator("tr[data-id]")).to_have_count(2)
    page.check("input[name=on_site]")
    page.click("main button[type=submit]")
    expect(page.locator("tr[data-id]")).to_have_count(1)
    expect(page.locator(f"tr[data-id='{ids[2]}']")).to_be_visible()
    shot(page, "visits-en")


PAGES = [
    "/",
    "/visits/new",
    "/visits",
    "/visits/{visit}",
    "/incidents",
    "/incidents/new",
    "/incidents/{incident}",
    "/door-events/new",
    "/logbook",
    "/shift",
]


def test_every_page_in_every_language_and_on_a_phone(
    browser: Browser, post: tuple[Path, dict[str, str]], servers: list[EdgeServer | GatewaySim]
) -> None:
    edge = serve(servers, EdgeServer(post[0]))
    with edge.client(edge.login()) as api:
        fields = {"company": "Lam Plumbing", "id_number": "A1234567(8)"}
        visit = api.post("/visits", json=new_visit("李小明", category="repair", **fields)).json()
        incident = api.post(
            "/incidents", json={"category": "complaint", "severity": "medium", "title": "樓上噪音"}
        ).json()
        api.post(f"/incidents/{incident['id']}/entries", json={"kind": "note", "text": "已記錄"})
    paths = [p.format(visit=visit["id"], incident=incident["id"]) for p in PAGES]
    tablet = {"width": 1024, "height": 768}
    for page, lang, viewport, label in every_language_and_screen(browser, edge.url, tablet):
        assert small_targets(page) == [], (lang, "/login")
        if not label:
            shot(page, f"login-{lang}")
        log_in(page, edge, lang)
        for path in paths:
            page.goto(f"{edge.url}{path}")
            expect(page.locator("html")).to_have_attribute("lang", lang)
            assert small_targets(page) == [], (lang, label, path)
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= viewport["width"], (lang, label, path, wide)
            name = path.strip("/").split("/")[0] or "home"
            name += "-one" if path.count("/") > 1 and "new" not in path else ""
            name += "-new" if path.endswith("/new") else ""
            if not label or lang == "zh-Hant":
                shot(page, f"{name}-{lang}{label}")


def test_the_login_works_from_the_keyboard_alone(
    page: Page, post: tuple[Path, dict[str, str]], servers: list[EdgeServer | GatewaySim]
) -> None:
    edge = serve(servers, EdgeServer(post[0]))
    page.goto(f"{edge.url}/login?lang=en")
    page.keyboard.type("1001")  # the badge field has the focus
    page.keyboard.press("Tab")
    page.keyboard.type("2468")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{edge.url}/")
    page.keyboard.press("Tab")  # the first control is reachable and visibly focused
    focused = page.evaluate("document.activeElement.tagName")
    assert focused in ("A", "BUTTON")


def test_live_pages_hear_of_changes_as_server_sent_events(
    page: Page, post: tuple[Path, dict[str, str]], servers: list[EdgeServer | GatewaySim]
) -> None:
    """The stream a live page listens to: the version at once, a new one when the logbook
    moves, and `logout` when the guard's session ends; nobody else gets a stream."""
    data, _ = post
    edge = serve(servers, EdgeServer(data))
    log_in(page, edge)
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    stream_headers = {"Accept": "text/event-stream"}
    assert httpx.get(f"{edge.url}/live", headers=stream_headers, timeout=10).status_code == 401
    with (
        httpx.Client(base_url=edge.url, cookies=cookies, timeout=30) as browser_like,
        browser_like.stream("GET", "/live", headers=stream_headers) as stream,
    ):
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = (line for line in stream.iter_lines() if line.startswith(("data:", "event:")))
        first = next(lines)
        assert first.startswith("data: ")
        with edge.client(edge.login()) as api:
            api.post("/shift-notes", json={"text": "Lift B checked"})
        second = next(lines)
        assert second.startswith("data: ") and second != first
        page.click("form.logout button")  # the guard logs out on the tablet
        assert next(lines) == "event: logout"
