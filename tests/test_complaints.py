"""Complaints have their own facts (the complainant, the reply promised) that leave post and hub
with retention; a watch-listed visitor is held without ringing the flat, and their incident is
graded by the watch list. One company (broker, hub, a post wired to a fake intercom gateway) for
the whole module; the purge runs last."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page

from schemas.canonical import chain_break
from tests.browser import log_in, serious_axe_violations, shot
from tests.helpers import (
    MANAGER,
    Company,
    EdgeServer,
    GatewaySim,
    HubServer,
    error_fields,
    intercom_args,
    run_edge,
    wait_until,
)

SITE = "harbour-view"
SECRET = "webhook-secret-c"
CANARY_NAME = "Complaincanary 金絲雀"
CANARY_TEXT = "canarydescription about the noisy neighbour"
WATCHED = "陳小明"


@dataclass
class World:
    company: Company
    post: EdgeServer
    hub: HubServer
    gateway: GatewaySim


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    company = Company(tmp_path_factory.mktemp("complaints"))
    post = company.add_post(SITE, "lobby-1")
    gateway = GatewaySim(SECRET, post.keys["intercom"])  # type: ignore[attr-defined]
    try:
        gateway.start()
        post.extra_args += intercom_args(gateway.webhook, SECRET)
        company.broker.start()
        hub = company.hub()
        hub.env["GUARDPOST_HUB_MIN_RETENTION_DAYS"] = "0"  # the purge below is of today's names
        company.extra = [hub.start()]
        post.start()
        yield World(company, post, hub, gateway)
    finally:
        company.stop_all(*company.extra)
        gateway.stop()


def in_hours(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def complaint(**changes: Any) -> dict[str, Any]:
    return {
        "category": "complaint",
        "severity": "minor",
        "title": "Noise at night",
        "channel": "phone",
        "complainant_name": "Chan Tai Man",
        "complainant_unit": "12A",
        "complainant_phone": "9123 4567",
        "reply_by": in_hours(4),
        **changes,
    }


def synced(post: EdgeServer) -> bool:
    with post.client(post.token()) as api:
        state = api.get("/sync").json()
    return bool(state["connected"] and state["backlog"] == 0)


# ---- the API ----------------------------------------------------------------------------------


def test_a_complaint_keeps_its_complainant_and_the_reply_promised(world: World) -> None:
    post = world.post
    reply_by = "2030-01-02T18:30:00+08:00"  # the site's time; answered in UTC
    with post.client(post.login()) as api:
        made = api.post("/incidents", json=complaint(reply_by=reply_by, description="too loud"))
        assert made.status_code == 201, made.text
        incident = made.json()
        assert api.get(f"/incidents/{incident['id']}").json()["complainant_name"] == "Chan Tai Man"
        past = api.post("/incidents", json=complaint(reply_by=in_hours(-1)))
        naive = api.post("/incidents", json=complaint(reply_by="2030-01-01T10:00:00"))
    assert {
        k: incident[k] for k in ("complainant_name", "complainant_unit", "complainant_phone")
    } == {
        "complainant_name": "Chan Tai Man",
        "complainant_unit": "12A",
        "complainant_phone": "9123 4567",
    }
    assert (incident["description"], incident["status"], incident["title_code"]) == (
        "too loud",
        "open",
        None,
    )
    assert incident["reply_by"] == "2030-01-02T10:30:00.000+00:00"
    assert (past.status_code, error_fields(past)) == (422, ["reply_by"])
    assert (naive.status_code, error_fields(naive)) == (422, ["reply_by"])
    anonymous = httpx.post(f"{post.url}/api/v1/incidents", json=complaint(), timeout=10)
    door_key = httpx.post(
        f"{post.url}/api/v1/incidents",
        json=complaint(),
        headers={"Authorization": f"Bearer {post.keys['door']}"},  # type: ignore[attr-defined]
        timeout=10,
    )
    assert (anonymous.status_code, door_key.status_code) == (401, 403)


# ---- the watch list -----------------------------------------------------------------------------


def test_a_watch_listed_visitor_is_held_without_ringing_the_flat(world: World) -> None:
    post, hub = world.post, world.hub
    with hub.client() as manager:
        made = manager.post("/watchlist", json={"name": WATCHED, "reason": "harassed a resident"})
        assert made.status_code == 201, made.text
        settings = manager.put(f"/sites/{SITE}/settings", json={"deadlines_h": {"severe": 2}})
        assert settings.status_code == 200, settings.text
    with post.client(post.login()) as api:

        def ready() -> bool:
            lines = [e["type"] for e in api.get("/logbook").json()["entries"]]
            severe = api.get("/settings").json()["deadlines_h"]["severe"]
            return "watchlist.applied" in lines and severe == 2

        wait_until(ready, 30, "the post to apply the watch list and the settings")
        # unit 12A has an intercom: a clean visitor rings it, a watch-listed one does not
        clean = api.post(
            "/visits", json={"visitor_name": "Lee Siu Ming", "unit": "12A", "category": "guest"}
        ).json()
        wait_until(lambda: len(world.gateway.received()) == 1, 15, "the clean visit's ring")
        flagged = api.post(
            "/visits", json={"visitor_name": WATCHED, "unit": "12A", "category": "guest"}
        ).json()
        [incident] = [
            i for i in api.get("/incidents").json()["incidents"] if i["visit_id"] == flagged["id"]
        ]
    assert clean["confirmation"]["status"] == "pending"
    assert (flagged["flag"], flagged["confirmation"]) == (
        "watch_list",
        {"status": "not_required", "request_id": None, "answered_at": None},
    )
    assert [r["body"]["visitor_name"] for r in world.gateway.received()] == ["Lee Siu Ming"]
    opened = datetime.fromisoformat(incident["opened_at"])
    assert datetime.fromisoformat(incident["due_at"]) - opened == timedelta(hours=2)
    assert {
        k: incident[k]
        for k in ("category", "severity", "title", "title_code", "visitor_name", "description")
    } == {
        "category": "watch_list",
        "severity": "severe",
        "title": "12A",
        "title_code": "watch_list",
        "visitor_name": WATCHED,
        "description": "harassed a resident",
    }
    with hub.client() as manager:

        def at_hub() -> list[str]:
            found = manager.get("/incidents", params={"severity": "severe"}).json()
            return [i["id"] for i in found["incidents"]]

        assert incident["id"] in wait_until(at_hub, 30, "the severe incident at the hub")
    time.sleep(1)  # still nobody rang the flat for them
    assert len(world.gateway.received()) == 1


# ---- the pages ----------------------------------------------------------------------------------


def test_the_complaint_form_and_page_in_chinese(world: World, page: Page) -> None:
    post = world.post
    log_in(page, post, "zh-Hant")
    page.goto(f"{post.url}/incidents/new")
    assert page.inner_text("fieldset.complainant legend").startswith("投訴人")
    page.select_option("select[name=category]", "complaint")
    page.fill("input[name=title]", "走廊噪音")
    page.fill("textarea[name=description]", "深夜有人大聲說話")
    page.fill("input[name=complainant_name]", "陳大文")
    page.fill("input[name=complainant_unit]", "12A")
    page.fill("input[name=complainant_phone]", "9123 4567")
    page.fill("input[name=reply_by]", "2000-01-01T10:00")  # in the past: refused, input kept
    shot(page, "complaint-form-zh-Hant")
    assert serious_axe_violations(page) == []
    page.click("main button[type=submit]")
    assert page.inner_text("#reply_by-error") == "承諾回覆的時間須遲於現在。"
    assert page.input_value("input[name=complainant_name]") == "陳大文"
    page.fill("input[name=reply_by]", f"{datetime.now().year + 1}-01-02T10:00")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/incidents/[0-9a-f-]{36}$"))
    steps = page.locator(".complaint-steps li")
    assert [
        (steps.nth(n).get_attribute("data-step"), steps.nth(n).get_attribute("data-done"))
        for n in range(steps.count())
    ] == [("received", "true"), ("handled", "false"), ("follow_up", "false"), ("summary", "false")]
    assert [steps.nth(n).inner_text().split()[1] for n in range(4)] == [
        "接訴",
        "處理",
        "回訪",
        "總結",
    ]
    assert page.inner_text("[data-close-rule]") == "處理記錄加入回訪及總結後，方可結案。"
    assert "陳大文 · 12A · 9123 4567" in page.inner_text("[data-complainant]")
    assert page.locator("[data-reply-by]").count() == 1
    # a follow-up visit ticks its step
    page.select_option("select[name=kind]", "follow_up")
    page.fill("textarea[name=text]", "已致電住戶回覆")
    page.click("form.entry button[type=submit]")
    page.wait_for_selector(".complaint-steps li[data-step=follow_up][data-done=true]")
    shot(page, "complaint-page-zh-Hant")
    assert serious_axe_violations(page) == []
    assert page.locator(".overdue-reply").count() == 0
    page.goto(page.url.split("?")[0] + "?lang=en")
    assert page.inner_text("[data-step=follow_up]").strip().startswith("✓")
    assert serious_axe_violations(page) == []


def test_a_reply_past_its_promised_time_is_highlighted(world: World, page: Page) -> None:
    post = world.post
    with post.client(post.login()) as api:
        made = api.post("/incidents", json=complaint(reply_by=in_hours(1.5 / 3600)))
        assert made.status_code == 201, made.text
        incident = made.json()
    wait_until(lambda: incident["reply_by"] < datetime.now(UTC).isoformat(), 5, "the reply time")
    log_in(page, post, "zh-Hant")
    page.goto(f"{post.url}/incidents/{incident['id']}")
    assert page.inner_text(".overdue-reply .badge") == "回覆逾期"
    assert page.inner_text("[data-step=received]").split()[1] == "接訴"
    shot(page, "complaint-reply-overdue-zh-Hant")
    assert serious_axe_violations(page) == []


def test_a_watch_listed_visit_shows_only_the_hold(world: World, page: Page) -> None:
    post = world.post
    with post.client(post.login()) as api:
        visits = api.get("/visits").json()["visits"]
    flagged = next(v for v in visits if v["flag"] == "watch_list")
    log_in(page, post, "zh-Hant")
    page.goto(f"{post.url}/visits/{flagged['id']}")
    text = page.inner_text("main")
    assert "監察名單" in text and "已批准" not in text
    assert page.locator("[data-held]").count() == 1
    shot(page, "watch-list-visit-zh-Hant")
    page.click(".held a")
    assert page.inner_text("h1") == f"監察名單：{WATCHED} (12A)"
    shot(page, "watch-list-incident-zh-Hant")
    assert serious_axe_violations(page) == []
    page.goto(f"{post.url}/visits/{flagged['id']}?lang=en")
    assert "Approved" not in page.inner_text("main")
    assert serious_axe_violations(page) == []


# ---- retention (last: it purges everything the module made) --------------------------------------


def test_a_purge_removes_the_complainant_at_post_and_hub(world: World) -> None:
    post, hub, company = world.post, world.hub, world.company
    with post.client(post.login()) as api:
        made = api.post(
            "/incidents", json=complaint(complainant_name=CANARY_NAME, description=CANARY_TEXT)
        )
        assert made.status_code == 201, made.text
        incident = made.json()
    wait_until(lambda: synced(post), 30, "the complaint to reach the hub")
    with hub.client() as api:
        at_hub = api.get(f"/incidents/{incident['id']}").json()
        assert (at_hub["complainant_name"], at_hub["description"]) == (CANARY_NAME, CANARY_TEXT)
    login = httpx.post(f"{hub.url}/login", data=MANAGER)
    assert login.status_code == 303, login.text
    with httpx.Client(base_url=hub.url, timeout=30, cookies=login.cookies) as desk:
        html = desk.get(f"/incidents/{incident['id']}").text
    assert f"{CANARY_NAME} · 12A · 9123 4567" in html  # the supervisor sees whom to call back
    assert re.findall(r'data-step="(\w+)" data-done="(\w+)"', html) == [
        ("received", "true"),
        ("handled", "false"),
        ("follow_up", "false"),
        ("summary", "false"),
    ]
    post.stop()
    purged = run_edge("purge", "--data", str(post.data), "--older-than", "0")
    assert purged.returncode == 0, purged.stderr
    assert " incidents (" in purged.stdout
    post.start()
    wait_until(lambda: synced(post), 30, "the purge to reach the hub")
    with post.client(post.login()) as api:
        after = api.get(f"/incidents/{incident['id']}").json()
        # the watch-listed visitor's name leaves their incident too (the list itself keeps it)
        watched = [i for i in api.get("/incidents").json()["incidents"] if i["title_code"]]
        assert [(i["visitor_name"], i["description"]) for i in watched] == [(None, None)]

    def purged_at_hub() -> dict[str, Any] | None:
        with hub.session() as api:
            found: dict[str, Any] = api.get(f"/incidents/{incident['id']}").json()
        return found if found["complainant_name"] is None else None

    at_hub = wait_until(purged_at_hub, 15, "the hub to apply the purge")
    personal = ("complainant_name", "complainant_unit", "complainant_phone", "description")
    for answer in (after, at_hub):
        assert {k: answer[k] for k in personal} == dict.fromkeys(personal)
        # the title was the guard's words: gone too; the reply promised and the times stay
        assert (answer["title"], answer["location"]) == ("", None)
        assert (answer["reply_by"], answer["opened_at"]) == (
            incident["reply_by"],
            incident["opened_at"],
        )
    post.stop()
    verified = run_edge("verify", "--data", str(post.data))
    assert verified.returncode == 0 and verified.stdout.startswith("ok "), verified.stdout
    forms = [b"Complaincanary", "金絲雀".encode(), b"canarydescription"]
    post_files = b"".join(p.read_bytes() for p in post.data.glob("guardpost.db*"))
    hub_files = b"".join(p.read_bytes() for p in company.hub_data.glob("hub.db*"))
    for form in forms:
        assert form not in post_files, form
        assert form not in hub_files, form
    # and the hub's search finds them no more (after the files: the audit log keeps searches)
    with hub.client() as api:
        for text in ("Complaincanary", "canarydescription", "金絲雀"):
            assert api.get("/search", params={"q": text}).json()["entries"] == []
    # the hub's copy of the chain still links, and is the post's
    conn = sqlite3.connect(company.hub_data / "hub.db")
    conn.row_factory = sqlite3.Row
    rows = conn.execute(
        "SELECT * FROM events WHERE site = ? AND device = 'lobby-1' ORDER BY seq", (SITE,)
    ).fetchall()
    conn.close()
    events = [
        {
            k: row[k]
            for k in ("seq", "id", "type", "at", "record_id", "pii_digest", "prev_hash", "hash")
        }
        | {"data": json.loads(row["data"]), "pii": json.loads(row["pii"]) if row["pii"] else None}
        for row in rows
    ]
    assert chain_break(events, "0" * 64, 0) is None
