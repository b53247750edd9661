"""Issue 15, points 4 and 3: the shift handover reaches the next guard (note, visitors on site,
open incidents) until they acknowledge it, at the tablet, in the API and at the hub; and the
logbook reads: the time on one line, each line's subject and guard, no notification address,
printable and not sideways on a phone."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from edge.logbook import Actor, Logbook
from schemas.ids import new_id
from tests.browser import PHONE, serious_axe_violations, shot, tab, too_wide
from tests.helpers import (
    GUARD,
    SUPERVISOR,
    Company,
    EdgeServer,
    init_post,
    run_edge,
    running,
    wait_until,
)

NOTIFIED = (  # what the hub's escalation writes on the timeline (tests/test_escalation.py)
    "Notified mailto://127.0.0.1:2525?from=hub@example.com&to=boss@example.com&mode=insecure:"
    " incident overdue (severe)"
)


@pytest.fixture(scope="module")
def post(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeServer]:
    """One post for the module: a severe incident with the hub's e-mail notification on its
    timeline, applied as sync applies the hub's down message, then served."""
    data = tmp_path_factory.mktemp("handover") / "post"
    init_post(data)
    book = Logbook(data)
    try:
        lift = {"category": "emergency", "severity": "severe", "title": "升降機B困人"}
        opening = book.incidents.open(lift, by=Actor("guard", GUARD["badge"]))
        with ThreadPoolExecutor(1) as pool:  # Playwright's loop may be running in this thread
            incident = pool.submit(asyncio.run, opening).result()
        entry = {"kind": "escalation", "text": NOTIFIED, "by": "hub:escalation"}
        assert book.incidents.apply_hub_entry_now(
            {**entry, "id": new_id(), "incident_id": incident["id"]}
        )
    finally:
        book.close()
    with running(EdgeServer(data)) as server:
        yield server


def log_in_as(page: Page, post: EdgeServer, person: dict[str, str], lang: str) -> None:
    page.goto(f"{post.url}/login?lang={lang}")
    page.fill("input[name=badge]", person["badge"])
    page.fill("input[name=pin]", person["pin"])
    page.click("main button[type=submit]")
    page.wait_for_url(f"{post.url}/")


def test_the_next_guard_sees_the_handover_until_they_acknowledge_it(
    browser: Browser, post: EdgeServer
) -> None:
    with post.client(post.login()) as api:
        visit = api.post(
            "/visits", json={"visitor_name": "李小明", "unit": "12A", "category": "guest"}
        ).json()
        leak = {"category": "equipment", "severity": "medium", "title": "三樓水管漏水"}
        incident = api.post("/incidents", json=leak).json()
    for page in tab(browser):  # guard A hands over
        log_in_as(page, post, GUARD, "zh-Hant")
        page.click(".menu a[href='/shift']")
        page.fill("textarea[name=text]", "升降機B維修中，三樓漏水已通知管理處。")
        page.click("form[action='/shift'] button[type=submit]")
        page.wait_for_url(f"{post.url}/shift")
        card = page.locator("section.handover")
        expect(card).to_contain_text("升降機B維修中，三樓漏水已通知管理處。")
        expect(card).to_contain_text("陳大文")
        expect(card.locator("button[name=acknowledge]")).to_have_count(0)  # not for A
        expect(card).to_contain_text("等待下一更的保安員確認。")
        shot(page, "handover-shift-zh-Hant")
        assert serious_axe_violations(page) == []

    for page in tab(browser):  # guard B logs in: the handover comes first
        log_in_as(page, post, SUPERVISOR, "zh-Hant")
        first = page.locator("main > *").first
        expect(first).to_have_attribute("class", "handover card")
        expect(first).to_contain_text("陳大文的交更")
        expect(first).to_contain_text("升降機B維修中，三樓漏水已通知管理處。")
        expect(first.locator(f"[data-id='{visit['id']}']")).to_contain_text("李小明")
        expect(first.locator(f"[data-id='{visit['id']}']")).to_contain_text("12A")
        expect(first.locator(f"[data-id='{incident['id']}']")).to_contain_text("三樓水管漏水")
        expect(first).to_contain_text("升降機B困人")
        shot(page, "handover-home-zh-Hant")
        assert serious_axe_violations(page) == []
        page.goto(f"{post.url}/?lang=en")
        expect(first).to_contain_text("Handover from 陳大文")
        assert serious_axe_violations(page) == []
        page.click("button[name=acknowledge]")
        page.wait_for_url(f"{post.url}/")
        expect(page.locator("section.handover")).to_have_count(0)
        page.click("button[name=logout]")
        log_in_as(page, post, SUPERVISOR, "en")  # gone at the next login too
        expect(page.locator("section.handover")).to_have_count(0)
        page.goto(f"{post.url}/shift")
        expect(page.locator("section.handover .acknowledged")).to_contain_text(
            "Acknowledged by Supervisor Wong"
        )
        page.goto(f"{post.url}/logbook")
        line = page.locator("table.lines tbody tr").last
        expect(line.locator(".what")).to_have_text("Shift handover acknowledged")
        expect(line.locator(".who")).to_have_text("Supervisor Wong")


def test_the_handover_api(post: EdgeServer) -> None:
    for path in ("/shift/handover", "/shift/handover/acknowledge"):
        method = "GET" if path.endswith("handover") else "POST"
        assert httpx.request(method, f"{post.url}/api/v1{path}").status_code == 401
    with post.client(post.login()) as api:
        visit = api.post(
            "/visits", json={"visitor_name": "Ms Chan", "unit": "3C", "category": "repair"}
        ).json()
        held = {"category": "suspicious_visitor", "severity": "medium", "title": "Asks odd"}
        assert api.post("/incidents", json={**held, "visit_id": visit["id"]}).status_code == 201
        note = api.post("/shift-notes", json={"text": "Boiler man in 3C"})
        assert note.status_code == 201 and set(note.json()) == {
            "id", "site", "device", "text", "at", "guard"
        }  # fmt: skip
        handover = api.get("/shift/handover").json()
    assert (handover["id"], handover["text"], handover["guard"], handover["name"]) == (
        note.json()["id"],
        "Boiler man in 3C",
        GUARD["badge"],
        GUARD["name"],
    )
    assert handover["acknowledged"] is None
    shown = {v["id"]: v for v in handover["on_site"]}
    assert shown[visit["id"]] | {"checked_in_at": None} == {
        "id": visit["id"],
        "visitor_name": "Ms Chan",
        "unit": "3C",
        "category": "repair",
        "checked_in_at": None,
        "checked_out_at": None,
        "is_held": True,
    }
    assert {"升降機B困人", "Asks odd"} <= {i["title"] for i in handover["incidents"]}
    with post.client(post.login(SUPERVISOR)) as api:
        first = api.post("/shift/handover/acknowledge")
        again = api.post("/shift/handover/acknowledge")
        later = api.get("/shift/handover").json()
    assert first.status_code == 200
    assert first.json()["acknowledged"]["guard"] == SUPERVISOR["badge"]
    assert first.json()["acknowledged"]["name"] == SUPERVISOR["name"]
    assert later == first.json()
    assert again.status_code == 409
    assert again.json()["detail"][0]["type"] == "already_acknowledged"


def test_the_logbook_reads_prints_and_fits_a_phone(browser: Browser, post: EdgeServer) -> None:
    with post.client(post.login()) as api:
        visit = api.post(
            "/visits", json={"visitor_name": "黃美玲", "unit": "12B", "category": "delivery"}
        ).json()
        assert api.post(f"/visits/{visit['id']}/checkout").status_code == 200
    for page in tab(browser):
        log_in_as(page, post, GUARD, "zh-Hant")
        page.goto(f"{post.url}/logbook")
        out = page.locator(f"table.lines tr[data-id='{visit['id']}']").last
        expect(out.locator(".subject")).to_have_text("黃美玲 · 單位 12B")
        expect(out.locator(".who")).to_have_text("陳大文")
        notified = page.locator("table.lines tr", has_text="已電郵通知主管")
        expect(notified.locator(".subject")).to_have_text("升降機B困人")
        expect(notified.locator(".who")).to_have_text("總部自動上報")
        times = page.locator("table.lines td.time")
        for n in range(times.count()):  # one line each: HH:MM, never the date
            cell = times.nth(n)
            assert len(cell.inner_text()) == 5
            box = cell.locator("time").bounding_box()
            line_height = float(cell.evaluate("el => parseFloat(getComputedStyle(el).lineHeight)"))
            assert box is not None and box["height"] < line_height * 1.5
        shot(page, "handover-logbook-zh-Hant")
        assert serious_axe_violations(page) == []
        for path in ("/logbook", "/shift", "/incidents"):
            assert "mailto" not in page.goto(f"{post.url}{path}").text()  # type: ignore[union-attr]
        incident = page.locator("a", has_text="升降機B困人").first.get_attribute("href")
        page.goto(f"{post.url}{incident}")
        expect(page.locator("main")).to_contain_text("已電郵通知主管")
        assert "mailto" not in page.content()
        page.goto(f"{post.url}/logbook?lang=en")
        english = page.locator("table.lines tr", has_text="Supervisor notified by e-mail")
        expect(english.locator(".what")).to_have_text(
            "Incident Escalated: Supervisor notified by e-mail · Overdue"
        )
        assert serious_axe_violations(page) == []
        page.emulate_media(media="print")
        expect(page.locator(".menu")).to_be_hidden()
        expect(page.locator("table.lines")).to_be_visible()
    for page in tab(browser, viewport=PHONE):
        log_in_as(page, post, GUARD, "zh-Hant")
        for path in ("/shift", "/", "/logbook"):
            page.goto(f"{post.url}{path}")
            assert too_wide(page) is None, path
        shot(page, "handover-logbook-phone-zh-Hant")


def test_the_acknowledgement_reaches_the_hub(company: Company) -> None:
    lobby = company.add_post("harbour-view", "lobby-1")
    lobby.env = {"GUARDPOST_DEADLINE_SEVERE_H": "0.0003"}  # overdue a second after opening
    company.start_hub()
    lobby.start()
    with lobby.client(lobby.login()) as api:
        assert api.get("/shift/handover").status_code == 404
        nothing = api.post("/shift/handover/acknowledge")
        assert (nothing.status_code, nothing.json()["detail"][0]["type"]) == (409, "no_handover")
        fire = {"category": "emergency", "severity": "severe", "title": "Smoke in the car park"}
        incident = api.post("/incidents", json=fire).json()
        time.sleep(1.5)
        assert api.post("/shift-notes", json={"text": "Fire brigade called"}).status_code == 201
    with lobby.client(lobby.login(SUPERVISOR)) as api:
        handover = api.post("/shift/handover/acknowledge").json()
    assert [(i["id"], i["was_overdue"]) for i in handover["incidents"]] == [(incident["id"], True)]

    def at_the_hub() -> list[tuple[str, str]]:
        conn = sqlite3.connect(company.hub_data / "hub.db")
        try:
            return conn.execute(
                "SELECT type, record_id FROM events WHERE type LIKE 'shift.%' ORDER BY seq"
            ).fetchall()
        finally:
            conn.close()

    wait_until(lambda: len(at_the_hub()) == 2, 30, "the acknowledgement to reach the hub")
    assert at_the_hub() == [("shift.note", handover["id"]), ("shift.acknowledged", handover["id"])]
    with company.extra[0].client() as hub_api:
        device = hub_api.get("/devices").json()["devices"][0]
        lines = hub_api.get("/logbook", params={"site": "harbour-view"}).json()["entries"]
    assert device["tampered"] is False
    assert lines[-1]["summary"] == f"Shift handover acknowledged by guard:{SUPERVISOR['badge']}"
    assert run_edge("verify", "--data", str(lobby.data)).returncode == 0


def test_who_is_shown_the_handover(tmp_path: Path) -> None:
    """Another guard is shown it, even logged in before it was written; the guard who wrote it
    only after logging in again (the browser test acknowledges it)."""
    data = tmp_path / "post"
    init_post(data)
    book = Logbook(data)
    try:
        assert book.shift_notes.last() is None
        later = "2100-01-01T00:00:00.000+00:00"
        for digest, badge in (("a-before", GUARD["badge"]), ("b-before", SUPERVISOR["badge"])):
            book.accounts.login_succeeded_now(badge, digest, later)
        assert book.shift_notes.waiting_for("b-before") is None  # nothing handed over yet
        writer = Actor("guard", GUARD["badge"])
        note = book.writer.write(book.shift_notes.add_work("All quiet", writer))
        time.sleep(0.01)
        book.accounts.login_succeeded_now(GUARD["badge"], "a-after", later)
        shown = {d: book.shift_notes.waiting_for(d) for d in ("a-before", "b-before", "a-after")}
        assert {d: h and h["id"] for d, h in shown.items()} == {
            "a-before": None,
            "b-before": note["id"],
            "a-after": note["id"],
        }
        assert book.shift_notes.waiting_for("no-such-session") is None
    finally:
        book.close()
