"""The guard's tablet in a real Chromium (Debian's, driven by Playwright) against a real post."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import log_in, shot
from tests.helpers import GUARD, ROOT, EdgeServer


def test_a_page_without_a_session_sends_the_guard_to_login(edge: EdgeServer) -> None:
    for path in ("/", "/visits/new"):
        answer = httpx.get(f"{edge.url}{path}", follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (303, "/login")


def test_wrong_pin_then_login_then_logout(page: Page, edge: EdgeServer) -> None:
    page.goto(f"{edge.url}/login?lang=zh-Hant")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hant")
    page.fill("input[name=badge]", GUARD["badge"])
    page.fill("input[name=pin]", "0000")
    page.click("main button[type=submit]")
    expect(page.locator(".error")).to_have_text("員工編號或密碼錯誤。")
    expect(page.locator("input[name=badge]")).to_have_value(GUARD["badge"])
    expect(page.locator("input[name=pin]")).to_have_value("")
    shot(page, "login-zh-Hant")
    log_in(page, edge, "zh-Hant")
    cookie = next(c for c in page.context.cookies() if c["name"] == "gp_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    page.click("button[name=logout]")
    page.wait_for_url(f"{edge.url}/login")
    old = httpx.get(f"{edge.url}/", cookies={"gp_session": cookie["value"]})
    assert old.history == [] and old.status_code == 303  # the old cookie no longer works


@pytest.mark.parametrize(
    ("lang", "heading", "name"),
    [
        ("en", "Register a visitor", "Lee Siu Ming"),
        ("zh-Hant", "訪客登記", "李小明"),
        ("zh-Hans", "访客登记", "王小红"),
    ],
)
def test_registering_a_visitor_in_each_language(
    page: Page, edge: EdgeServer, lang: str, heading: str, name: str
) -> None:
    log_in(page, edge, lang)
    page.click("a[href='/visits/new']")
    expect(page.locator("h1")).to_have_text(heading)
    expect(page.locator("html")).to_have_attribute("lang", lang)
    page.fill("input[name=visitor_name]", name)
    page.fill("input[name=unit]", "12A")
    page.check("input[name=category][value=delivery]")  # large choices, not a drop-down
    page.fill("input[name=id_number]", "A1234567(8)")
    shot(page, f"visit-new-{lang}")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/visits/[0-9a-f-]{36}$"))
    expect(page.locator("h1")).to_have_text(name)
    expect(page.locator("dd").nth(2)).to_have_text("A****567(8)")
    assert "1234567" not in page.content()
    shot(page, f"visit-{lang}")


def test_errors_are_shown_next_to_the_field_and_input_is_kept(page: Page, edge: EdgeServer) -> None:
    log_in(page, edge, "zh-Hant")
    page.goto(f"{edge.url}/visits/new")
    page.fill("input[name=visitor_name]", "陳大文")
    page.fill("input[name=unit]", "99Z")
    page.fill("input[name=id_number]", "Z7654321(0)")
    page.click("main button[type=submit]")
    expect(page.locator("#unit-error")).to_have_text("沒有這個單位。")
    expect(page.locator("input[name=visitor_name]")).to_have_value("陳大文")
    expect(page.locator("input[name=unit]")).to_have_value("99Z")
    expect(page.locator("input[name=id_number]")).to_have_value("")
    assert "7654321" not in page.content()
    shot(page, "visit-new-error-zh-Hant")


def test_check_out_from_home(page: Page, edge: EdgeServer) -> None:
    token = edge.login()
    with edge.client(token) as api:
        visit = api.post(
            "/visits",
            json={"visitor_name": "<script>alert(1)</script>", "unit": "12B", "category": "guest"},
        ).json()
        backlog = api.get("/sync").json()["backlog"]
    log_in(page, edge)
    row = page.locator(f"li[data-id='{visit['id']}']")
    expect(row.locator("strong")).to_have_text("<script>alert(1)</script>")  # shown, not run
    expect(page.locator("[data-sync]")).to_contain_text(f"{backlog} waiting to sync")
    box = row.locator("button[name=checkout]").bounding_box()
    assert box and box["height"] >= 44 and box["width"] >= 44
    shot(page, "home-en")
    row.locator("button[name=checkout]").click()
    page.wait_for_url(f"{edge.url}/")
    # the row stays a few seconds to offer the undo (tests/test_tablet_find.py), then goes
    expect(row.locator("button[name=checkout]")).to_have_count(0)
    expect(row.locator("button[name=undo]")).to_be_visible()
    with edge.client(token) as api:
        assert api.get(f"/visits/{visit['id']}").json()["checked_out_at"] is not None


def test_a_form_without_its_csrf_token_is_refused(edge: EdgeServer) -> None:
    token = edge.login()
    cookies = {"gp_session": token}
    body = {"visitor_name": "x", "unit": "12A", "category": "guest"}
    refused = httpx.post(f"{edge.url}/visits/new", data=body, cookies=cookies)
    assert refused.status_code == 403
    wrong = httpx.post(f"{edge.url}/visits/new", data={**body, "csrf": "0" * 32}, cookies=cookies)
    assert wrong.status_code == 403
    with edge.client(token) as api:
        assert api.get("/visits").json()["visits"] == []


def test_pages_use_only_local_assets() -> None:
    for template in [
        *(ROOT / "service" / "templates").glob("*.html"),
        *(ROOT / "edge" / "templates").glob("*.html"),
        *(ROOT / "hub" / "templates").glob("*.html"),
    ]:
        assert "http://" not in template.read_text() and "https://" not in template.read_text()


def test_every_string_on_the_pages_is_translated() -> None:
    from babel.messages.pofile import read_po

    # every template and every module of both services and the layer below them (the pages
    # are split into modules; their base, words and shared templates are in service/)
    sources = [
        *(ROOT / "service" / "templates").glob("*.html"),
        *(ROOT / "service").rglob("*.py"),
        *(ROOT / "edge" / "templates").glob("*.html"),
        *(ROOT / "edge").rglob("*.py"),
        *(ROOT / "hub" / "templates").glob("*.html"),
        *(ROOT / "hub").rglob("*.py"),
    ]
    wanted: set[str] = set()
    for source in sources:
        text = source.read_text(encoding="utf-8")
        wanted |= set(re.findall(r'_\(\s*"((?:[^"\\]|\\.)+)"', text))
    assert len(wanted) > 50
    for lang in ("zh-Hant", "zh-Hans"):
        po = ROOT / "service" / "locales" / lang / "LC_MESSAGES" / "messages.po"
        with po.open("rb") as f:
            catalog = read_po(f)
        translated = {m.id for m in catalog if m.id and m.string}
        assert sorted(wanted - translated) == [], lang


def test_an_incident_from_report_to_closed(page: Page, edge: EdgeServer) -> None:
    from tests.helpers import SUPERVISOR

    log_in(page, edge, "zh-Hant")
    page.click(".menu a[href='/incidents']")
    page.click("a[href='/incidents/new']")
    page.select_option("select[name=category]", "complaint")
    page.select_option("select[name=severity]", "minor")  # a post supervisor closes minor ones
    page.click("main button[type=submit]")
    expect(page.locator("#title-error")).to_have_text("請填寫此欄。")
    page.fill("input[name=title]", "樓上單位晚上裝修噪音")
    page.fill("textarea[name=description]", "12B 住戶來電投訴")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/incidents/[0-9a-f-]{36}$"))
    incident_id = page.url.rsplit("/", 1)[1]
    for step in ("acknowledged", "in_progress", "resolved"):
        page.click(f"button[name={step}]")
        expect(page.locator("[data-status]")).to_have_attribute("data-status", step)
    expect(page.locator("button[name=closed]")).to_have_count(0)  # a guard does not close
    for kind, text in (("follow_up", "已上門回訪，住戶滿意"), ("summary", "裝修已停止")):
        page.select_option("select[name=kind]", kind)
        page.fill("textarea[name=text]", text)
        page.click("form.entry button[type=submit]")
        expect(page.locator(".timeline")).to_contain_text(text)
    shot(page, "incident-zh-Hant")
    page.click("button[name=logout]")
    page.goto(f"{edge.url}/login")
    page.fill("input[name=badge]", SUPERVISOR["badge"])
    page.fill("input[name=pin]", SUPERVISOR["pin"])
    page.click("main button[type=submit]")
    page.goto(f"{edge.url}/incidents/{incident_id}")
    page.click("button[name=closed]")
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "closed")
    with edge.client(edge.login()) as api:
        assert api.get(f"/incidents/{incident_id}").json()["status"] == "closed"


def test_door_override_then_the_logbook_and_the_handover(page: Page, edge: EdgeServer) -> None:
    log_in(page, edge, "en")
    page.goto(f"{edge.url}/door-events/new")
    page.fill("input[name=door]", "Main entrance")
    page.select_option("select[name=kind]", "guard_override")
    page.click("main button[type=submit]")
    expect(page.locator("#reason-error")).to_have_text("A door opened by the guard needs a reason.")
    expect(page.locator("input[name=door]")).to_have_value("Main entrance")
    page.fill("input[name=reason]", "Elderly resident with shopping")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{edge.url}/logbook")
    expect(page.locator("table.logbook tbody tr")).to_have_count(1)
    expect(page.locator("table.logbook")).to_contain_text(
        "Door Main entrance: Opened by the guard (Elderly resident with shopping)"
    )
    shot(page, "logbook-en")
    page.goto(f"{edge.url}/logbook?lang=zh-Hant")  # worded in the page's language
    expect(page.locator("table.logbook")).to_contain_text(
        "門 Main entrance：保安員人手開門 (Elderly resident with shopping)"
    )
    page.goto(f"{edge.url}/logbook?lang=en")
    page.click(".menu a[href='/shift']")
    expect(page.locator("table.logbook tbody tr")).to_have_count(1)
    page.fill("textarea[name=text]", "Quiet night; car park door checked at 03:00.")
    page.click("main button[type=submit]")
    expect(page.locator("table.logbook tbody tr")).to_have_count(0)  # a fresh start
    shot(page, "shift-en")
    with edge.client(edge.login()) as api:
        types = [e["type"] for e in api.get("/logbook").json()["entries"]]
    assert types == ["door.event", "shift.note"]


def test_a_suspicious_visitor_is_held_and_the_steps_are_ticked_off(
    page: Page, edge: EdgeServer
) -> None:
    token = edge.login()
    with edge.client(token) as api:
        visit = api.post(
            "/visits", json={"visitor_name": "Mr X", "unit": "3C", "category": "other"}
        ).json()
    log_in(page, edge, "en")
    page.goto(f"{edge.url}/visits/{visit['id']}")
    page.click("button[name=suspicious]")
    page.wait_for_url(re.compile(r"/incidents/[0-9a-f-]{36}$"))
    expect(page.locator("h1")).to_have_text("Suspicious visitor · 3C")
    page.click("button[name=call_flat]")
    expect(page.locator(".steps li.done")).to_have_text(["✓ Call the flat on the intercom"])
    expect(page.locator("button[name=call_backup]")).to_have_count(1)
    page.click("button[name=call_backup]")
    expect(page.locator(".steps li.done")).to_have_count(2)
    shot(page, "suspicious-en")
    page.goto(f"{edge.url}/visits/{visit['id']}")
    expect(page.locator(".held")).to_contain_text("Held in the lobby")
    expect(page.locator("button[name=suspicious]")).to_have_count(0)
    with edge.client(token) as api:
        incidents = api.get("/incidents").json()["incidents"]
        linked = [i for i in incidents if i["visit_id"] == visit["id"]]
        assert [(i["category"], i["severity"], i["status"]) for i in linked] == [
            ("suspicious_visitor", "medium", "open")
        ]
        entries = api.get(f"/incidents/{linked[0]['id']}").json()["entries"]
    assert [(e["kind"], e["text"]) for e in entries] == [
        ("action", "Call the flat on the intercom"),
        ("escalation", "Call the supervisor for backup"),
    ]


def test_a_repeat_visitor_is_offered_by_id_number(page: Page, edge: EdgeServer) -> None:
    with edge.client(edge.login()) as api:
        api.post(
            "/visits",
            json={
                "visitor_name": "黃志明",
                "unit": "12A",
                "category": "contractor",
                "company": "安全電業",
                "id_number": "C6677889(0)",
            },
        )
    log_in(page, edge, "zh-Hant")
    page.goto(f"{edge.url}/visits/new")
    page.fill("input[name=id_number]", "c6677889(0)")  # typed differently: same person
    expect(page.locator("#fill-repeat")).to_contain_text("黃志明 (安全電業)")
    page.click("#fill-repeat")
    expect(page.locator("input[name=visitor_name]")).to_have_value("黃志明")
    expect(page.locator("input[name=company]")).to_have_value("安全電業")
    page.fill("input[name=id_number]", "D1111111(1)")
    expect(page.locator(".repeat")).to_be_hidden()


def test_the_repeat_lookup_needs_a_session_and_its_csrf_token(edge: EdgeServer) -> None:
    body = {"id_number": "C6677889(0)"}
    assert httpx.post(f"{edge.url}/visits/lookup", data=body).status_code == 401
    token = edge.login()
    refused = httpx.post(f"{edge.url}/visits/lookup", data=body, cookies={"gp_session": token})
    assert refused.status_code == 403


def test_an_idle_tablet_returns_to_the_pin_pad(browser: Browser, tmp_path: Path) -> None:
    from tests.helpers import init_post

    init_post(tmp_path / "post")
    edge = EdgeServer(tmp_path / "post", env={"GUARDPOST_IDLE_MINUTES": "0.05"}).start()  # 3 s
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    try:
        page = context.new_page()
        log_in(page, edge)
        cookie = next(c for c in context.cookies() if c["name"] == "gp_session")
        page.wait_for_url(f"{edge.url}/login", timeout=15_000)
        expect(page.locator("input[name=pin]")).to_be_visible()
        # logged out on the server, not just in the browser
        assert httpx.get(f"{edge.url}/", cookies={"gp_session": cookie["value"]}).status_code == 303
    finally:
        context.close()
        edge.stop()


def test_registration_takes_at_most_six_taps_plus_typing(page: Page, edge: EdgeServer) -> None:
    log_in(page, edge, "zh-Hant")
    taps = 0

    def tap(selector: str) -> None:
        nonlocal taps
        taps += 1
        page.click(selector)

    tap("a.button[href='/visits/new']")
    tap("input[name=visitor_name]")
    page.keyboard.type("陳小姐")
    tap("input[name=unit]")
    page.keyboard.type("12A")
    tap("input[name=id_number]")
    page.keyboard.type("B7654321(9)")
    tap("main button[type=submit]")  # category defaults to guest, party size to 1
    page.wait_for_url(re.compile(r"/visits/[0-9a-f-]{36}$"))
    expect(page.locator("h1")).to_have_text("陳小姐")
    assert taps <= 6


def test_a_logbook_line_this_version_cannot_word_keeps_its_summary() -> None:
    """A newer post may send an event with fields this hub does not know: the page shows the
    line's summary instead of failing."""
    from service.i18n import gettext_for
    from service.pages_text import labels_for, line_text

    _ = gettext_for("zh-Hant")
    labels = labels_for(_)
    known = {"type": "door.event", "data": {"door": "側門", "kind": "forced"}, "summary": "x"}
    assert line_text(_, labels, known) == "門 側門：門被強行打開"
    newer = {
        "type": "incident.status",
        "data": {"status": "resolved"},
        "summary": "Incident status: ? -> resolved",
    }
    assert line_text(_, labels, newer) == "Incident status: ? -> resolved"
