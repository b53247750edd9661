"""Issue 15, points 6 and 8: a check-out on the tablet can be undone for a short while (a new
logbook event, at the post and at the hub alike), visitors still waiting for the resident are
listed first and not counted as on site, and a past visitor is found across days, on the
post's `/visits` and from the hub's search, which links to the visit's page."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from edge.logbook import Logbook
from edge.logbook.actors import Actor
from schemas.ids import utc_now
from service import errors
from tests.browser import log_in, tab
from tests.helpers import (
    GUARD,
    MANAGER,
    Company,
    EdgeServer,
    add_user,
    error_fields,
    free_port,
    import_units,
    init_post,
    intercom_args,
    run_edge,
    running,
    wait_until,
)

OLD_NAME = "Wong Tai Sin"  # a visitor from three days ago, still within retention
PURGED_NAME = "Forgotten Visitor"  # a visitor from forty days ago, purged
OLD_PLATE = "XY 9876"
GUARD_ACTOR = Actor("guard", GUARD["badge"], name=GUARD["name"], role="guard")


def register_at(book: Logbook, when: datetime, monkeypatch: pytest.MonkeyPatch, **body: Any) -> str:
    """A visit registered as if the post's clock said `when` (the writer stamps the event and
    its check-in with the command's time)."""
    monkeypatch.setattr("edge.logbook.visits.utc_now", lambda: when)
    work = book.visits.register_work({"category": "guest", **body}, GUARD_ACTOR)
    return str(book.writer.write(work)["id"])


@pytest.fixture(scope="module")
def post(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeServer]:
    """One post for the module, with an intercom that never answers within the tests (a visit
    to 12A stays `pending`), a visitor from three days ago and a purged one from forty."""
    data = tmp_path_factory.mktemp("find") / "post"
    keys = init_post(data)
    book = Logbook(data)
    try:
        with pytest.MonkeyPatch.context() as patch:
            now = utc_now()
            register_at(book, now - timedelta(days=40), patch, visitor_name=PURGED_NAME, unit="3C")
            register_at(
                book,
                now - timedelta(days=3),
                patch,
                visitor_name=OLD_NAME,
                unit="12B",
                phone="5555 0123",
                vehicle_plate=OLD_PLATE,
                id_number="A1234567(8)",
            )
    finally:
        book.close()
    purged = run_edge("purge", "--data", str(data), "--older-than", "30", "--trust-clock")
    assert purged.returncode == 0, purged.stderr
    nowhere = f"http://127.0.0.1:{free_port()}/ring"
    server = EdgeServer(data, extra_args=intercom_args(nowhere, "webhook-secret-1", 3600))
    server.keys = keys  # type: ignore[attr-defined]
    with running(server):
        yield server


@pytest.fixture(scope="module")
def browser_tab(browser: Browser) -> Iterator[Page]:
    yield from tab(browser)


def register(api: httpx.Client, **body: Any) -> dict[str, Any]:
    answer = api.post("/visits", json={"category": "guest", "unit": "12B", **body})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def axe_violations(page: Page) -> list[str]:
    """What axe-core finds wrong on the page, one `rule: target` each."""
    found = Axe().run(page).response["violations"]
    return [f"{v['id']}: {n['target']}" for v in found for n in v["nodes"]]


# ---- the API ----------------------------------------------------------------------------------


def test_undo_checkout_puts_the_visitor_back_on_site_and_logs_both(post: EdgeServer) -> None:
    with post.client(post.login()) as api:
        visit = register(api, visitor_name="Mistaken Checkout")
        out = api.post(f"/visits/{visit['id']}/checkout", json={})
        assert out.status_code == 200 and out.json()["checked_out_at"] is not None
        undone = api.post(f"/visits/{visit['id']}/undo-checkout")
        assert undone.status_code == 200, undone.text
        assert {k: undone.json()[k] for k in ("id", "checked_out_at", "visitor_name")} == {
            "id": visit["id"],
            "checked_out_at": None,
            "visitor_name": "Mistaken Checkout",
        }
        on_site = api.get("/visits", params={"on_site": "true"}).json()["visits"]
        assert visit["id"] in [v["id"] for v in on_site]
        lines = [e for e in api.get("/logbook").json()["entries"] if e["record_id"] == visit["id"]]
        assert [(e["type"], e["summary"]) for e in lines] == [
            (
                "visit.registered",
                "Visitor Mistaken Checkout registered for 12B (guest, party of 1)",
            ),
            ("visit.checked_out", "Visitor checked out"),
            ("visit.checkout_undone", "Check-out undone: the visitor is on site again"),
        ]
        assert [e["seq"] for e in lines] == sorted(e["seq"] for e in lines)

        again = api.post(f"/visits/{visit['id']}/undo-checkout")
        assert (again.status_code, again.json()["detail"][0]["type"]) == (409, "not_checked_out")
        never = register(api, visitor_name="Never Out")
        refused = api.post(f"/visits/{never['id']}/undo-checkout")
        assert (refused.status_code, error_fields(refused)) == (409, ["id"])
        assert api.post("/visits/no-such-visit/undo-checkout").status_code == 404
        # it can be checked out again, and that one undone too
        assert api.post(f"/visits/{visit['id']}/checkout", json={}).status_code == 200
        assert api.post(f"/visits/{visit['id']}/undo-checkout").status_code == 200
    assert httpx.post(f"{post.url}/api/v1/visits/{visit['id']}/undo-checkout").status_code == 401
    door_key = {"Authorization": f"Bearer {post.keys['door']}"}  # type: ignore[attr-defined]
    assert (
        httpx.post(
            f"{post.url}/api/v1/visits/{visit['id']}/undo-checkout", headers=door_key
        ).status_code
        == 403
    )


def test_undo_is_refused_after_two_minutes_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "post"  # a bare post: no guards or keys needed in-process
    assert run_edge("init", "--data", str(data), "--site", "s", "--device", "d").returncode == 0
    assert (
        import_units(data, tmp_path / "units.csv", "unit,intercom,residents\n12B,,\n").returncode
        == 0
    )
    book = Logbook(data)
    try:
        now = utc_now()
        visit_id = register_at(book, now, monkeypatch, visitor_name="Left Long Ago", unit="12B")
        asyncio.run(book.visits.check_out(visit_id, GUARD_ACTOR))
        monkeypatch.setattr("edge.logbook.visits.utc_now", lambda: now + timedelta(seconds=121))
        with pytest.raises(errors.UndoTooLate, match=r"only within 120 s; this one was at"):
            asyncio.run(book.visits.undo_check_out(visit_id, GUARD_ACTOR))
        assert book.visits.get(visit_id)["checked_out_at"] is not None
        monkeypatch.setattr("edge.logbook.visits.utc_now", lambda: now + timedelta(seconds=110))
        assert (
            asyncio.run(book.visits.undo_check_out(visit_id, GUARD_ACTOR))["checked_out_at"] is None
        )
    finally:
        book.close()
    assert errors.UndoTooLate.status == 409


def test_q_finds_a_past_visitor_across_days_newest_first(post: EdgeServer) -> None:
    with post.client(post.login()) as api:
        today = register(api, visitor_name="Wong Siu Ming", unit="3C", vehicle_plate="AB 1234")

        def found(q: str, **more: str) -> list[str | None]:
            answer = api.get("/visits", params={"q": q, **more})
            assert answer.status_code == 200, answer.text
            return [v["visitor_name"] for v in answer.json()["visits"]]

        assert found("wong") == ["Wong Siu Ming", OLD_NAME]  # any case, newest first
        assert found("TAI SIN") == [OLD_NAME]
        assert found("0123") == [OLD_NAME]  # phone
        assert found("xy 98") == [OLD_NAME]  # plate
        assert found("1234567") == []  # never the ID number
        assert found(PURGED_NAME) == []  # purged: no name left to find
        assert found("3c") == ["Wong Siu Ming", None]  # by unit, the purged one too
        assert found("%") == [] and found("_") == []  # no wildcards
        assert found("wong", on_site="true") == ["Wong Siu Ming", OLD_NAME]
        site_today = datetime.now(ZoneInfo("Asia/Hong_Kong")).date().isoformat()  # the post's day
        assert found("wong", date=site_today)[0] == today["visitor_name"]
        assert error_fields(api.get("/visits", params={"q": "x" * 101})) == ["q"]


# ---- the tablet ---------------------------------------------------------------------------------


def test_home_offers_undo_after_a_checkout(post: EdgeServer, browser_tab: Page) -> None:
    page = browser_tab
    with post.client(post.login()) as api:
        leaving = register(api, visitor_name="Chan Tai Man")
        waiting = register(api, visitor_name="Lam Ka Yan", unit="12A")
        assert waiting["confirmation"]["status"] == "pending"
        present = api.get("/visits", params={"on_site": "true"}).json()["visits"]
        at_door = [v for v in present if v["confirmation"]["status"] in ("pending", "no_answer")]
        on_site = len(present) - len(at_door)
    log_in(page, post)
    sections = page.locator("main section h2")
    expect(sections.nth(0)).to_have_text(f"Waiting for residents ({len(at_door)})")
    expect(sections.nth(1)).to_have_text(f"Visitors on site ({on_site})")
    expect(page.locator("section").nth(0).locator(f"li[data-id='{waiting['id']}']")).to_be_visible()
    expect(page.locator("section").nth(1).locator(f"li[data-id='{waiting['id']}']")).to_have_count(
        0
    )

    page.locator(f"li[data-id='{leaving['id']}'] button[name=checkout]").click()
    page.wait_for_url(f"{post.url}/")
    row = page.locator(f"li[data-id='{leaving['id']}']")
    expect(row).to_contain_text("Checked out at")
    expect(sections.nth(1)).to_have_text(f"Visitors on site ({on_site - 1})")
    assert axe_violations(page) == []
    row.locator("button[name=undo]").click()
    page.wait_for_url(f"{post.url}/")
    expect(row.locator("button[name=checkout]")).to_be_visible()
    expect(sections.nth(1)).to_have_text(f"Visitors on site ({on_site})")
    with post.client(post.login()) as api:
        assert api.get(f"/visits/{leaving['id']}").json()["checked_out_at"] is None

    # the undo goes away by itself after a few seconds
    row.locator("button[name=checkout]").click()
    page.wait_for_url(f"{post.url}/")
    expect(row.locator("button[name=undo]")).to_be_visible()
    expect(row).to_have_count(0, timeout=15_000)
    page.goto(f"{post.url}/?lang=zh-Hant")
    expect(sections.nth(0)).to_have_text(f"等待住戶確認 ({len(at_door)})")
    assert axe_violations(page) == []


def test_the_register_finds_a_visitor_from_an_earlier_day(
    post: EdgeServer, browser_tab: Page
) -> None:
    page = browser_tab
    page.goto(f"{post.url}/visits?lang=en")
    expect(page.locator(f"tr:has-text('{OLD_NAME}')")).to_have_count(0)  # not today's
    page.fill("input[name=q]", "tai sin")
    page.click("form.filters button[type=submit]")
    expect(page.locator("h1")).to_contain_text("(1)")
    row = page.locator("table.register tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(OLD_NAME)
    expect(row).to_contain_text("A****567(8)")
    expect(page.locator("input[name=q]")).to_have_value("tai sin")
    assert axe_violations(page) == []
    page.goto(f"{post.url}/visits?lang=zh-Hant&q={OLD_PLATE}")
    expect(page.locator("table.register tbody tr")).to_contain_text(OLD_NAME)
    assert axe_violations(page) == []
    page.goto(f"{post.url}/visits?lang=en")


# ---- at the hub ---------------------------------------------------------------------------------


def synced(post: EdgeServer) -> bool:
    with post.client(post.token()) as api:
        state = api.get("/sync").json()
    return bool(state["connected"] and state["backlog"] == 0 and state["last_seq"] > 0)


def chain(db: Path, where: str = "", *args: str) -> list[tuple[int, str]]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(f"SELECT seq, hash FROM events {where} ORDER BY seq", args)
        return [(r[0], r[1]) for r in rows]
    finally:
        conn.close()


def test_an_undone_checkout_reaches_the_hub_whose_search_links_to_the_visit(
    company: Company, browser: Browser
) -> None:
    post, hub = company.start_with_post("harbour-view")
    with post.client(post.login()) as api:
        visit = register(api, visitor_name="Ho Wing Kei", vehicle_plate="HK 2046")
        assert api.post(f"/visits/{visit['id']}/checkout", json={}).status_code == 200
        wait_until(lambda: synced(post), 30, "the check-out to reach the hub")
        with hub.client() as hub_api:
            gone = hub_api.get("/visits", params={"on_site": "true"}).json()["visits"]
            assert visit["id"] not in [v["id"] for v in gone]
        assert api.post(f"/visits/{visit['id']}/undo-checkout").status_code == 200
    wait_until(lambda: synced(post), 30, "the undo to reach the hub")
    with hub.client() as hub_api:
        back = hub_api.get("/visits", params={"on_site": "true"}).json()["visits"]
        assert [v["checked_out_at"] for v in back if v["id"] == visit["id"]] == [None]
        devices = hub_api.get("/devices").json()["devices"]
    edge_chain = chain(post.data / "guardpost.db")
    assert [(d["acked_seq"], d["tampered"]) for d in devices] == [(len(edge_chain), False)]
    assert chain(company.hub_data / "hub.db") == edge_chain  # the same events, hashes and all
    verified = run_edge("verify", "--data", str(post.data))
    assert (verified.returncode, verified.stdout.strip()) == (0, f"ok {len(edge_chain)} events")

    outsider = {"username": "sunrise-chief", "password": "sunrise-pass-1"}
    add_user(company.hub_data, outsider, "supervisor", "sunrise-court")
    for page in tab(browser):
        for lang, on_site in (("en", "On site"), ("zh-Hant", "在場")):
            page.goto(f"{hub.url}/login?lang={lang}")
            page.fill("input[name=username]", MANAGER["username"])
            page.fill("input[name=password]", MANAGER["password"])
            page.click("main button[type=submit]")
            page.wait_for_url(f"{hub.url}/")
            page.goto(f"{hub.url}/search?q=Wing+Kei")
            link = page.locator(f"a[data-record='{visit['id']}']")
            expect(link).to_have_attribute("href", f"/visits/{visit['id']}")
            assert axe_violations(page) == []
            link.click()
            page.wait_for_url(f"{hub.url}/visits/{visit['id']}")
            expect(page.locator("h1")).to_have_text("Ho Wing Kei")
            expect(page.locator("[data-on-site]")).to_have_text(on_site)
            types = page.locator("tr[data-type]")
            expect(types).to_have_count(3)
            expect(types.nth(2)).to_have_attribute("data-type", "visit.checkout_undone")
            assert axe_violations(page) == []
            page.click("button[name=logout]")
        page.goto(f"{hub.url}/login")
        page.fill("input[name=username]", outsider["username"])
        page.fill("input[name=password]", outsider["password"])
        page.click("main button[type=submit]")
        page.wait_for_url(f"{hub.url}/")
        answer = page.goto(f"{hub.url}/visits/{visit['id']}")
        assert answer is not None and answer.status == 404
    with hub.client() as hub_api:
        audit = hub_api.get("/audit").json()["entries"]
    reads = [e for e in audit if e["action"] == "visit page"]
    assert [(e["username"], e["target"]) for e in reads] == [
        ("manager", f"id={visit['id']}"),
        ("manager", f"id={visit['id']}"),
    ]
    assert re.fullmatch(r"[0-9a-f-]{36}", visit["id"])
