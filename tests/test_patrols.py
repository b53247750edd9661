"""Patrol rounds (CONTRACT section 9), against a real broker, hub and post: checkpoints and
rounds defined at the hub reach the post; a guard's scans complete a round; a round with a
checkpoint unscanned when its window closes opens one incident (of the grade the site's
settings give) that reaches the hub, whose page and reports show both runs; the printed
sheet's QR codes decode back to the checkpoints' codes; only a manager defines them. While
the runs are waited for, `tests/patrol_checks.py` changes and removes another site's rounds."""

from __future__ import annotations

import shutil
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from playwright.sync_api import Browser

from tests import patrol_checks as checks
from tests.browser import (
    PHONE,
    log_in,
    serious_axe_violations,
    shot,
    small_targets,
    tab,
    too_wide,
)
from tests.helpers import (
    MANAGER,
    Company,
    EdgeServer,
    HubServer,
    add_user,
    error_fields,
    running,
    wait_until,
)

HARBOUR, SKY = "harbour-view", "sky-tower"
ZONE = ZoneInfo("Asia/Hong_Kong")  # the site's (the post's default until the hub says)
SUPERVISOR = {"username": "sup", "password": "sup-pass-123"}
AUDITOR = {"username": "aud", "password": "aud-pass-123"}


def test_only_a_manager_defines_rounds_and_bad_bodies_are_named(company: Company) -> None:
    company.add_post(HARBOUR, "lobby-1")
    company.add_post(SKY, "lobby-1")
    add_user(company.hub_data, SUPERVISOR, "supervisor", HARBOUR)
    add_user(company.hub_data, AUDITOR, "auditor", HARBOUR)
    with running(HubServer(company.hub_data)) as hub:
        with hub.client() as manager:
            made = manager.post(f"/sites/{HARBOUR}/checkpoints", json={"name": "天台"})
            assert made.status_code == 201, made.text
            checkpoint = made.json()
            assert sorted(checkpoint) == ["code", "id"]
            assert len(checkpoint["code"]) >= 20
            other = manager.post(f"/sites/{SKY}/checkpoints", json={"name": "Roof"}).json()
            body: dict[str, Any] = {
                "name": "Night round",
                "checkpoints": [checkpoint["id"]],
                "every_minutes": 60,
                "window_minutes": 15,
                "from": "22:00",
                "to": "06:00",
            }
            made = manager.post(f"/sites/{HARBOUR}/rounds", json=body)
            assert made.status_code == 201, made.text
            assert {k: v for k, v in made.json().items() if k != "id"} == body
            for change, field in (
                ({"checkpoints": [other["id"]]}, "checkpoints"),
                ({"checkpoints": ["nothing"]}, "checkpoints"),
                ({"checkpoints": []}, "checkpoints"),
                ({"window_minutes": 61}, "window_minutes"),
                ({"every_minutes": 0}, "every_minutes"),
                ({"every_minutes": "10"}, "every_minutes"),
                ({"from": "24:00"}, "from"),
                ({"to": "7pm"}, "to"),
                ({"name": " "}, "name"),
            ):
                refused = manager.post(f"/sites/{HARBOUR}/rounds", json={**body, **change})
                assert (refused.status_code, error_fields(refused)) == (422, [field]), change
            for missing in ("name", "checkpoints", "every_minutes", "window_minutes"):
                partial = {k: v for k, v in body.items() if k != missing}
                refused = manager.post(f"/sites/{HARBOUR}/rounds", json=partial)
                assert (refused.status_code, error_fields(refused)) == (422, [missing])
            refused = manager.post(f"/sites/{HARBOUR}/checkpoints", json={"location": "x"})
            assert (refused.status_code, error_fields(refused)) == (422, ["name"])
            assert manager.post("/sites/nowhere/checkpoints", json={"name": "x"}).status_code == 404
        with hub.client(SUPERVISOR) as supervisor:
            assert supervisor.post(f"/sites/{HARBOUR}/rounds", json=body).status_code == 403
            cp = supervisor.post(f"/sites/{HARBOUR}/checkpoints", json={"name": "x"})
            assert cp.status_code == 403
            assert supervisor.post(f"/sites/{SKY}/rounds", json=body).status_code == 404
            cp = supervisor.post(f"/sites/{SKY}/checkpoints", json={"name": "x"})
            assert cp.status_code == 404
            listed = supervisor.get(f"/sites/{HARBOUR}/rounds").json()["rounds"]
            assert [r["name"] for r in listed] == ["Night round"]
            assert supervisor.get(f"/sites/{SKY}/checkpoints").status_code == 404
        with hub.client(AUDITOR) as auditor:
            assert auditor.post(f"/sites/{HARBOUR}/rounds", json=body).status_code == 403
            assert auditor.post(f"/sites/{HARBOUR}/checkpoints", json=body).status_code == 403
            points = auditor.get(f"/sites/{HARBOUR}/checkpoints").json()["checkpoints"]
            assert points == [{**checkpoint, "name": "天台", "location": None}]
        with httpx.Client(base_url=f"{hub.url}/api/v1", timeout=30) as anonymous:
            assert anonymous.post(f"/sites/{HARBOUR}/rounds", json=body).status_code == 401
        login = httpx.post(f"{hub.url}/login", data=MANAGER)
        with httpx.Client(base_url=hub.url, timeout=30, cookies=login.cookies) as desk:
            audit = desk.get("/audit").text
        assert audit.count("add checkpoint") == 2 and audit.count("add round") == 1


def test_the_printed_sheet_decodes_back_to_the_codes(company: Company, tmp_path: Path) -> None:
    company.add_post(HARBOUR, "lobby-1")
    with running(HubServer(company.hub_data)) as hub, hub.client() as manager:
        codes = {
            manager.post(f"/sites/{HARBOUR}/checkpoints", json={"name": name}).json()["code"]
            for name in ("大堂 Lobby", "Car park B1", "Roof")
        }
        sheet = manager.get(f"/sites/{HARBOUR}/checkpoints.pdf")
    assert sheet.status_code == 200
    assert sheet.headers["content-type"] == "application/pdf"
    (tmp_path / "sheet.pdf").write_bytes(sheet.content)
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", str(tmp_path / "sheet.pdf"), str(tmp_path / "page")],
        check=True,
    )
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "sheet.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert all(name in text for name in ("大堂 Lobby", "Car park B1", "Roof"))
    assert shutil.which("zbarimg"), "zbarimg (Debian's zbar-tools) reads the QR codes back"
    images = sorted(str(p) for p in tmp_path.glob("page*.png"))
    decoded = subprocess.run(
        ["zbarimg", "--quiet", "--raw", *images], capture_output=True, text=True, check=True
    ).stdout.split()
    assert sorted(decoded) == sorted(codes)


def rounds_at(post: EdgeServer, token: str) -> list[dict[str, Any]]:
    with post.client(token) as guard:
        answer = guard.get("/patrols")
    assert answer.status_code == 200, answer.text
    return list(answer.json()["rounds"])


def missed_at_hub(hub: HubServer) -> list[dict[str, Any]]:
    with hub.session() as manager:
        incidents = manager.get("/incidents", params={"site": HARBOUR}).json()["incidents"]
    return [i for i in incidents if i["title"] == "Patrol Roof: missed"]


def next_minute_soon() -> datetime:
    """The start of the next minute, waiting until it is 10 to 20 s away (time enough for a
    round defined now to reach the post before it starts), on the same local day."""
    local = datetime.now(ZONE)
    if (local.hour, local.minute) >= (23, 58):
        time.sleep((60 - local.minute) * 60 - local.second + 1)
    second = datetime.now(ZONE).second
    if second < 40:
        time.sleep(40 - second)
    elif second > 50:
        time.sleep(100 - second)
    return datetime.now(ZONE).replace(second=0, microsecond=0) + timedelta(minutes=1)


def test_a_round_from_the_hub_is_walked_at_the_post_and_a_missed_run_opens_one_incident(
    company: Company, browser: Browser
) -> None:
    local = datetime.now(ZONE)
    if (local.hour, local.minute) >= (23, 57):  # every run and report checked on one day
        time.sleep((60 - local.minute) * 60 - local.second + 1)
    add_user(company.hub_data, checks.SUPERVISOR, "supervisor", SKY)
    add_user(company.hub_data, checks.AUDITOR, "auditor", SKY)
    add_user(company.hub_data, checks.ELSEWHERE, "supervisor", HARBOUR)
    post, hub = company.start_with_post(HARBOUR)
    other_post = company.add_post(SKY, "lobby-1").start()
    # while this site's runs are waited for, another site's rounds are changed at the hub
    sky_points = checks.change_rounds_by_api(hub, other_post)
    with hub.client() as manager:
        graded = manager.put(
            f"/sites/{HARBOUR}/settings", json={"patrol_missed_severity": "severe"}
        )
        assert graded.status_code == 200, graded.text
        bad = manager.put(f"/sites/{HARBOUR}/settings", json={"patrol_missed_severity": "huge"})
        assert (bad.status_code, error_fields(bad)) == (422, ["patrol_missed_severity"])
        points = {
            name: manager.post(f"/sites/{HARBOUR}/checkpoints", json={"name": name}).json()
            for name in ("大堂 Lobby", "停車場 Car park", "天台 Roof")
        }
        start = next_minute_soon()
        # one run each, in the next minute: Walk is walked, Roof is missed
        for name, walked in (("Walk", ["大堂 Lobby", "停車場 Car park"]), ("Roof", ["天台 Roof"])):
            round_in = {
                "name": name,
                "checkpoints": [points[p]["id"] for p in walked],
                "every_minutes": 1,
                "window_minutes": 1,
                "from": f"{start:%H:%M}",
                "to": f"{start:%H:%M}",
            }
            assert manager.post(f"/sites/{HARBOUR}/rounds", json=round_in).status_code == 201
    token = post.login()
    runs = wait_until(
        lambda: len(rounds_at(post, token)) == 2 and rounds_at(post, token),
        10,
        "the rounds to reach the post",
    )
    assert datetime.now(ZONE) < start, "the rounds reached the post after their run began"
    assert [(r["name"], r["state"]) for r in runs] == [("Roof", "open"), ("Walk", "open")]
    walk = runs[1]
    assert [c["name"] for c in walk["checkpoints"]] == ["大堂 Lobby", "停車場 Car park"]
    time.sleep(max(0.0, (start - datetime.now(ZONE)).total_seconds()) + 0.2)
    lobby, car_park = points["大堂 Lobby"]["code"], points["停車場 Car park"]["code"]
    with post.client(token) as guard:
        scanned = guard.post("/patrols/scans", json={"code": lobby})
        assert scanned.status_code == 201, scanned.text
        assert scanned.json() | {"id": "-"} == {
            "id": "-",
            "checkpoint": points["大堂 Lobby"]["id"],
            "round": walk["round"],
            "on_time": True,
        }
        unknown = guard.post("/patrols/scans", json={"code": "not-a-code"})
        assert (unknown.status_code, error_fields(unknown)) == (404, ["code"])
        refused = guard.post("/patrols/scans", json={})
        assert (refused.status_code, error_fields(refused)) == (422, ["code"])
    with post.client(post.keys["door"]) as door:  # type: ignore[attr-defined]
        assert door.post("/patrols/scans", json={"code": lobby}).status_code == 403
        assert door.get("/patrols").status_code == 403
    with post.client() as nobody:
        assert nobody.post("/patrols/scans", json={"code": lobby}).status_code == 401
        assert nobody.get("/patrols").status_code == 401

    # the guard's phone: what is left of the round, and the car park's code typed in
    for page in tab(browser, viewport=PHONE):
        log_in(page, post, "zh-Hant")
        page.goto(f"{post.url}/patrol")
        assert page.locator("html").get_attribute("lang") == "zh-Hant"
        walking = page.locator(f".patrol-run[data-id='{walk['round']}']")
        left = walking.locator("li.left").all_inner_texts()
        assert len(left) == 1 and "停車場 Car park" in left[0]
        shot(page, "patrol-phone-zh-Hant")
        assert serious_axe_violations(page) == []
        assert too_wide(page) is None and small_targets(page) == []
        page.fill("input[name=code]", car_park)
        page.click("main button[type=submit]")
        page.wait_for_url(f"{post.url}/patrol?scanned=*")
        assert "停車場 Car park" in page.locator("[role=status]").inner_text()
        assert (walking.get_attribute("data-state"), walking.locator("li.left").count()) == (
            "done",
            0,
        )
        assert "巡邏完成" in walking.inner_text()
        shot(page, "patrol-phone-zh-Hant-scanned")
        page.goto(f"{post.url}/patrol?lang=en")
        page.fill("input[name=code]", "wrong-code")
        page.click("main button[type=submit]")
        assert page.locator("#code-error").inner_text() == "No checkpoint has this code."
        assert page.locator("input[name=code]").input_value() == "wrong-code"
        shot(page, "patrol-phone-en-error")
        assert serious_axe_violations(page) == []
        assert too_wide(page) is None and small_targets(page) == []
    roof, walked = rounds_at(post, token)
    assert walked["state"] == "done"
    assert all(c["scanned_at"] for c in walked["checkpoints"])
    checks.manage_rounds_on_pages(browser, hub, sky_points)

    # the roof's run passes unscanned: one incident of the site's grade, at post and hub
    missed = wait_until(lambda: missed_at_hub(hub), 80, "the missed run's incident at the hub")
    assert [(i["category"], i["severity"], i["status"]) for i in missed] == [
        ("security", "severe", "open")
    ]
    assert [r["state"] for r in rounds_at(post, token)] == ["missed", "done"]
    checks.check_the_hub_shows_the_runs(hub, browser, walked, start)
    post.stop()
    post.start()  # judged once: a restart opens nothing more
    time.sleep(6)
    with post.client(post.login()) as guard:
        opened = guard.get("/incidents").json()["incidents"]
        logbook = guard.get("/logbook").json()["entries"]
    assert [i["title"] for i in opened if i["title"].startswith("Patrol")] == [
        "Patrol Roof: missed"
    ]
    patrol_lines = [e["type"] for e in logbook if e["type"].startswith("patrol")]
    assert patrol_lines[0] == "patrols.applied"  # one for each version the hub sent
    assert [t for t in patrol_lines if t != "patrols.applied"] == [
        "patrol.scan",
        "patrol.scan",
        "patrol.missed",
    ]
    assert len(missed_at_hub(hub)) == 1
    for page in tab(browser, viewport=PHONE):  # worded in the page's language, from its codes
        log_in(page, post, "zh-Hant")
        page.goto(f"{post.url}/incidents")
        assert "巡邏路線 Roof 漏巡" in page.locator("main").inner_text()
        page.goto(f"{post.url}/patrol")
        behind = page.locator("li[data-state=missed]")
        assert behind.count() == 1 and "漏巡" in behind.inner_text()
        shot(page, "patrol-phone-zh-Hant-missed")
