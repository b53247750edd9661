"""A guard at 3 a.m. with a queue (issue 15), in a real Chromium against one post for the
module: the overdue badge can be read and overdue incidents lead the home page and beep once,
registering takes at most six taps on one screen, the PIN pad types where the guard is, and a
phone neither scrolls sideways nor hides the menu. axe-core checks the changed pages."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import (
    PHONE,
    contrast,
    log_in,
    serious_axe_violations,
    shot,
    small_targets,
    tab,
    too_wide,
)
from tests.helpers import GUARD, EdgeServer, init_post, running, wait_until

SEVERE_DUE_S = 2.0  # the post's deadline for a severe incident, so one falls due in the test
TABLET = {"width": 1024, "height": 768}


@pytest.fixture(scope="module")
def post(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeServer]:
    """One post for the module whose severe incidents fall due after SEVERE_DUE_S."""
    data = tmp_path_factory.mktemp("fast") / "post"
    init_post(data)
    env = {"GUARDPOST_DEADLINE_SEVERE_H": str(SEVERE_DUE_S / 3600)}
    with running(EdgeServer(data, env=env)) as server:
        yield server


def open_incident(post: EdgeServer, severity: str, title: str) -> str:
    with post.client(post.login()) as api:
        answer = api.post(
            "/incidents", json={"category": "emergency", "severity": severity, "title": title}
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])


def overdue(post: EdgeServer, incident_id: str) -> bool:
    with post.client(post.token()) as api:
        return bool(api.get(f"/incidents/{incident_id}").json()["overdue"])


def beeps(page: Page) -> int:
    return int(page.evaluate("window.guardpostAlarm.beeps"))


def test_an_overdue_incident_leads_home_in_the_alarm_colour_and_beeps_once(
    browser: Browser, post: EdgeServer
) -> None:
    minor = open_incident(post, "minor", "Bin room light out")
    severe = open_incident(post, "severe", "Lift B stuck 升降機困人")
    wait_until(lambda: overdue(post, severe), 10, "the severe incident to fall due")
    for page in tab(browser):
        log_in(page, post, "zh-Hant")
        # the first block of the page is the overdue and severe ones, the overdue severe first
        first = page.locator("main > section").first
        expect(first.locator("li[data-id]").first).to_have_attribute("data-id", severe)
        expect(first.locator(f"li[data-id='{minor}']")).to_have_count(0)
        row = first.locator(f"li[data-id='{severe}']")
        expect(row).to_have_class(re.compile(r"\boverdue\b"))
        expect(row.locator(".badge")).to_have_text("逾期")
        assert contrast(row.locator(".badge")) >= 4.5
        assert beeps(page) == 1  # a tablet that had not seen it overdue yet
        shot(page, "fast-home-overdue-zh-Hant")
        page.goto(f"{post.url}/incidents")
        badge = page.locator(f"li[data-id='{severe}'] .badge")
        expect(badge).to_have_text("逾期")
        assert contrast(badge) >= 4.5

        # a new severe incident appears live, then falls due: one more beep, once
        page.goto(f"{post.url}/")
        assert beeps(page) == 0  # back on the page: nothing new since, no beep
        later = open_incident(post, "severe", "Water in car park")
        fresh = page.locator(f"li[data-id='{later}']")
        expect(fresh).to_be_visible(timeout=10_000)
        expect(fresh).to_have_class(re.compile(r"\boverdue\b"), timeout=15_000)
        wait_until(lambda p=page: beeps(p) == 1, 5, "the beep")
        with post.client(post.login()) as api:  # another change refreshes the page again
            api.post("/visits", json={"visitor_name": "Ms Ho", "unit": "3C", "category": "guest"})
        expect(page.locator("main li[data-id]")).to_have_count(4, timeout=10_000)
        assert beeps(page) == 1

        # the mute toggle is a large target and is remembered
        mute = page.locator("button[name=mute]")
        box = mute.bounding_box()
        assert box and box["height"] >= 44 and box["width"] >= 44
        expect(mute).to_have_attribute("aria-pressed", "false")
        mute.click()
        expect(mute).to_have_attribute("aria-pressed", "true")
        page.reload()
        expect(page.locator("button[name=mute]")).to_have_attribute("aria-pressed", "true")
        page.locator("button[name=mute]").click()
        page.reload()
        expect(page.locator("button[name=mute]")).to_have_attribute("aria-pressed", "false")


def test_registering_a_visitor_in_six_taps_on_one_screen(
    browser: Browser, post: EdgeServer
) -> None:
    for page in tab(browser, viewport=TABLET):
        log_in(page, post, "zh-Hant")
        taps = 0

        def tap(selector: str, page: Page = page) -> None:
            nonlocal taps
            taps += 1
            page.click(selector)

        started = time.monotonic()
        tap("main a.button[href='/visits/new']")
        submit = page.locator("main button[type=submit]")
        box = submit.bounding_box()
        assert box and box["y"] + box["height"] <= TABLET["height"], box  # no scrolling
        for name in ("phone", "company", "purpose", "party_size", "vehicle_plate", "notes"):
            expect(page.locator(f"details.more input[name={name}]")).to_be_hidden()
        expect(page.locator("select")).to_have_count(0)
        tap("input[name=visitor_name]")
        page.keyboard.type("陳小姐")
        tap("input[name=unit]")
        page.keyboard.type("12A")
        tap("label.choice:has(input[value=repair])")
        tap("input[name=id_number]")
        page.keyboard.type("B7654321(9)")
        shot(page, "fast-visit-new-zh-Hant")
        tap("main button[type=submit]")
        page.wait_for_url(re.compile(r"/visits/[0-9a-f-]{36}$"))
        expect(page.locator("h1")).to_have_text("陳小姐")
        elapsed_ms = (time.monotonic() - started) * 1000
        print(f"registered in {taps} taps, {elapsed_ms:.0f} ms from the first tap")
        assert taps <= 6
        expect(page.locator("main dl")).to_contain_text("維修")

        # saved: said so, and the next visitor is the biggest button; check-out is secondary
        expect(page.locator(".saved[role=status]")).to_contain_text("已登記：陳小姐，單位 12A。")
        next_box = page.locator("a.next").bounding_box()
        checkout = page.locator("button[name=checkout]")
        out_box = checkout.bounding_box()
        assert next_box and out_box
        assert next_box["width"] * next_box["height"] > out_box["width"] * out_box["height"]
        expect(checkout).not_to_have_class(re.compile("primary"))
        shot(page, "fast-visit-saved-zh-Hant")
        page.click("a.next")
        page.wait_for_url(f"{post.url}/visits/new")
        for name in ("visitor_name", "unit", "id_number"):
            expect(page.locator(f"input[name={name}]")).to_have_value("")
        expect(page.locator("input[name=category][value=guest]")).to_be_checked()

        # a wrong field behind "More" opens it, with the message next to the field
        page.fill("input[name=visitor_name]", "Mr Lam")
        page.fill("input[name=unit]", "3C")
        page.click("details.more summary")
        page.fill("input[name=party_size]", "99")
        page.click("details.more summary")  # closed again before sending
        page.click("main button[type=submit]")
        expect(page.locator("#party_size-error")).to_be_visible()
        expect(page.locator("details.more")).to_have_attribute("open", "")


def test_the_pin_pad_types_into_the_field_the_guard_is_in(
    browser: Browser, post: EdgeServer
) -> None:
    for page in tab(browser, viewport=TABLET):
        page.goto(f"{post.url}/login?lang=en")
        login = page.locator("main button[type=submit]")
        box = login.bounding_box()
        assert box and box["y"] + box["height"] <= TABLET["height"], box
        expect(page.locator(".pinpad-target")).to_have_text("The keys type the badge")
        for digit in GUARD["badge"]:
            page.click(f".pinpad button[data-key='{digit}']")
        expect(page.locator("input[name=badge]")).to_have_value(GUARD["badge"])
        expect(page.locator("input[name=pin]")).to_have_value("")
        page.click(".pinpad button[data-key='✓']")  # on to the PIN
        expect(page.locator("input[name=pin]")).to_be_focused()
        expect(page.locator(".pinpad-target")).to_have_text("The keys type the PIN")
        for digit in GUARD["pin"]:
            page.click(f".pinpad button[data-key='{digit}']")
        expect(page.locator("input[name=badge]")).to_have_value(GUARD["badge"])
        page.click(".pinpad button[data-key='✓']")
        page.wait_for_url(f"{post.url}/")
    for page in tab(browser, viewport={"width": 1024, "height": 700}):
        page.goto(f"{post.url}/login?lang=zh-Hant")
        page.evaluate("document.activeElement.blur()")
        page.click(".pinpad button[data-key='7']")  # no field chosen: the PIN
        expect(page.locator("input[name=pin]")).to_have_value("7")
        expect(page.locator("input[name=badge]")).to_have_value("")
        box = page.locator("main button[type=submit]").bounding_box()
        assert box and box["y"] + box["height"] <= 700, box


def test_a_phone_sees_every_page_without_scrolling_sideways(
    browser: Browser, post: EdgeServer
) -> None:
    for page in tab(browser, viewport=PHONE):
        page.goto(f"{post.url}/login?lang=en")
        assert too_wide(page) is None
        log_in(page, post, "en")
        for path in ("/", "/visits", "/visits/new", "/logbook"):
            page.goto(f"{post.url}{path}")
            assert too_wide(page) is None, path
            assert small_targets(page) == [], path
        shot(page, "fast-logbook-phone-en")
        header = page.evaluate("document.querySelector('.menu').getBoundingClientRect().bottom")
        assert header <= 160, header  # it was 225 px before the menu even started
        for link in page.locator(".menu a").all():  # every item can be scrolled to
            link.scroll_into_view_if_needed()
            box = link.bounding_box()
            assert box and box["x"] >= -1 and box["x"] + box["width"] <= PHONE["width"] + 1, box
        shot(page, "fast-logbook-phone-en")


@pytest.mark.parametrize("lang", ["zh-Hant", "en"])
def test_the_changed_pages_pass_axe(browser: Browser, post: EdgeServer, lang: str) -> None:
    open_incident(post, "severe", "Smoke alarm")
    for page in tab(browser, viewport=TABLET):
        page.goto(f"{post.url}/login?lang={lang}")
        assert serious_axe_violations(page) == [], "/login"
        log_in(page, post, lang)
        expect(page.locator("li.overdue").first).to_be_visible(timeout=10_000)
        assert serious_axe_violations(page) == [], "/"
        page.goto(f"{post.url}/incidents")
        assert serious_axe_violations(page) == [], "/incidents"
        page.goto(f"{post.url}/visits/new")
        assert serious_axe_violations(page) == [], "/visits/new"
        page.fill("input[name=visitor_name]", "Axe")
        page.fill("input[name=unit]", "12B")
        page.click("main button[type=submit]")
        page.wait_for_url(re.compile(r"/visits/[0-9a-f-]{36}$"))
        assert serious_axe_violations(page) == [], "/visits/{id} saved"
