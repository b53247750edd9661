"""What the patrol test (tests/test_patrols.py) checks at the hub while it waits for its runs:
a manager renames and removes checkpoints and rounds of another site (API and page) and that
site's post follows (a removed checkpoint's code is 404 there; history keeps its name; the
settings show the version applied); only a manager changes anything (403), another site's
supervisor gets 404; and, once the runs are over, the hub's page and the reports show them.
The pages are axe clean and show no code in zh-Hant."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import Browser

from tests.browser import PHONE, hub_log_in, serious_axe_violations, shot, tab, too_wide
from tests.helpers import MANAGER, EdgeServer, HubServer, error_fields, wait_until
from tests.test_reports import pdf_text
from tests.test_words import codes_shown

SITE, OTHER = "sky-tower", "harbour-view"  # the site set up here; the walked test's
SUPERVISOR = {"username": "sup", "password": "sup-pass-123"}  # of SITE, as the auditor
AUDITOR = {"username": "aud", "password": "aud-pass-123"}
ELSEWHERE = {"username": "hv", "password": "hv-pass-123"}  # a supervisor of OTHER only
ZONE = ZoneInfo("Asia/Hong_Kong")  # the sites'


def post_settings(post: EdgeServer, token: str) -> dict[str, Any]:
    with post.client(token) as guard:
        answer: dict[str, Any] = guard.get("/settings").json()
    return answer


def change_rounds_by_api(hub: HubServer, post: EdgeServer) -> dict[str, dict[str, Any]]:
    """Checkpoints and a round at SITE, renamed, changed and removed through the API, as the
    post sees them; the checkpoints made."""
    token = post.login()
    assert post_settings(post, token)["patrol_missed_severity"] == "medium"
    with hub.client() as manager:
        points = {
            name: manager.post(f"/sites/{SITE}/checkpoints", json={"name": name}).json()
            for name in ("大堂", "停車場", "天台")
        }
        walk = {
            "name": "Day",
            "checkpoints": [points["大堂"]["id"], points["天台"]["id"]],
            "every_minutes": 60,
            "window_minutes": 60,
            "from": "00:00",
            "to": "23:59",
        }
        day = manager.post(f"/sites/{SITE}/rounds", json=walk).json()
        roof = points["天台"]
        # renamed: the code stays; a bad body names the field; an unknown id is 404
        renamed = manager.put(
            f"/sites/{SITE}/checkpoints/{roof['id']}",
            json={"name": "天台 Roof", "location": "30/F"},
        )
        assert renamed.json() == {**roof, "name": "天台 Roof", "location": "30/F"}
        refused = manager.put(f"/sites/{SITE}/checkpoints/{roof['id']}", json={"name": ""})
        assert (refused.status_code, error_fields(refused)) == (422, ["name"])
        assert (
            manager.put(f"/sites/{SITE}/checkpoints/nothing", json={"name": "x"}).status_code == 404
        )
        refused = manager.put(
            f"/sites/{SITE}/rounds/{day['id']}", json={**walk, "window_minutes": 61}
        )
        assert (refused.status_code, error_fields(refused)) == (422, ["window_minutes"])
        assert manager.put(f"/sites/{SITE}/rounds/nothing", json=walk).status_code == 404
        # a checkpoint a round walks past stays until the round changes
        in_use = manager.delete(f"/sites/{SITE}/checkpoints/{roof['id']}")
        assert (in_use.status_code, error_fields(in_use)) == (409, ["id"])
    with hub.client(SUPERVISOR) as supervisor, hub.client(AUDITOR) as auditor:
        for reader in (supervisor, auditor):
            assert reader.put(f"/sites/{SITE}/rounds/{day['id']}", json=walk).status_code == 403
            assert reader.delete(f"/sites/{SITE}/rounds/{day['id']}").status_code == 403
            cp = reader.put(f"/sites/{SITE}/checkpoints/{roof['id']}", json={"name": "x"})
            assert cp.status_code == 403
            assert reader.delete(f"/sites/{SITE}/checkpoints/{roof['id']}").status_code == 403
            assert reader.get(f"/sites/{SITE}/patrols").status_code == 200
    with hub.client(ELSEWHERE) as elsewhere:
        assert elsewhere.get(f"/sites/{SITE}/patrols").status_code == 404
        assert elsewhere.delete(f"/sites/{SITE}/rounds/{day['id']}").status_code == 404
        assert (
            elsewhere.put(f"/sites/{SITE}/checkpoints/{roof['id']}", json={"name": "x"}).status_code
            == 404
        )

    def at_post() -> list[dict[str, Any]] | None:
        with post.client(token) as guard:
            rounds = guard.get("/patrols").json()["rounds"]
        names = [c["name"] for r in rounds[:1] for c in r["checkpoints"]]
        return rounds if names == ["大堂", "天台 Roof"] else None

    wait_until(at_post, 15, "the renamed checkpoint at the post")
    with hub.client() as manager:
        walked = {**walk, "checkpoints": [points["大堂"]["id"]]}
        assert manager.put(f"/sites/{SITE}/rounds/{day['id']}", json=walked).status_code == 200
        assert manager.delete(f"/sites/{SITE}/checkpoints/{roof['id']}").status_code == 204
        assert manager.delete(f"/sites/{SITE}/checkpoints/{roof['id']}").status_code == 404
        listed = manager.get(f"/sites/{SITE}/checkpoints").json()["checkpoints"]
        assert [c["name"] for c in listed] == ["大堂", "停車場"]
        # the run going on when the round was defined keeps the removed checkpoint's name
        runs = manager.get(f"/sites/{SITE}/patrols").json()["rounds"]
        assert [c["name"] for c in runs[0]["checkpoints"]] == ["大堂", "天台 Roof"]

    # 3 checkpoints, a round, a rename, the round's change, the removal: version 7
    wait_until(
        lambda: post_settings(post, token)["versions"]["patrols"] == 7,
        15,
        "the removal at the post",
    )
    assert post_settings(post, token)["patrol_missed_severity"] == "medium"  # never set here
    with post.client(token) as guard:
        scanned = guard.post("/patrols/scans", json={"code": roof["code"]})
        assert (scanned.status_code, error_fields(scanned)) == (404, ["code"])
        assert (
            guard.post("/patrols/scans", json={"code": points["大堂"]["code"]}).status_code == 201
        )

    def scan_at_hub() -> bool:
        with hub.session() as manager:
            runs = manager.get(f"/sites/{SITE}/patrols").json()["rounds"]
        return any(c["scanned_at"] for r in runs for c in r["checkpoints"])

    wait_until(scan_at_hub, 15, "the scan at the hub")
    return points


def manage_rounds_on_pages(browser: Browser, hub: HubServer, points: dict[str, Any]) -> None:
    """The manager's setup page and the site's patrol page, and who may see them."""
    site = f"{hub.url}/sites/{SITE}"
    for page in tab(browser):
        hub_log_in(page, hub, MANAGER, "zh-Hant")
        page.goto(f"{site}/patrols/setup")
        assert codes_shown(page) == [] and serious_axe_violations(page) == []
        shot(page, "patrol-setup-zh-Hant")
        # a checkpoint a round walks past cannot go: the page says why
        lobby = page.locator(f"li[data-id='{points['大堂']['id']}']")
        lobby.locator("button[name=remove]").click()
        assert "請先修改或刪除該路線" in lobby.locator("#setup-error").inner_text()
        car_park = page.locator(f"li[data-id='{points['停車場']['id']}']")
        car_park.locator("input[name=name]").fill(" ")
        car_park.locator("button[name=rename]").click()
        assert car_park.locator("#setup-error").count() == 1  # said next to it
        assert car_park.locator("input[name=name]").input_value() == "停車場"  # unchanged
        page.fill("#name", "車場出口")
        page.fill("#location", "B1")
        page.click("form[action$='/patrols/checkpoints'] button[type=submit]")
        page.wait_for_url(f"{site}/patrols/setup")
        assert "車場出口" in page.locator("main").inner_text()
        # a round without checkpoints is refused next to the field, what was typed kept
        page.fill("#round-name", "夜更")
        page.fill("#every_minutes", "30")
        page.fill("#window_minutes", "10")
        page.click("form[action$='/patrols/rounds'] button[type=submit]")
        assert (
            page.locator("fieldset.has-error .error").inner_text() == "請選擇本大廈最少一個巡邏點。"
        )
        assert page.locator("#round-name").input_value() == "夜更"
        page.select_option("#walk-1", points["停車場"]["id"])
        page.select_option("#walk-2", points["大堂"]["id"])
        page.fill("#from", "22:00")
        page.fill("#to", "06:00")
        page.click("form[action$='/patrols/rounds'] button[type=submit]")
        page.wait_for_url(f"{site}/patrols/setup")
        night = page.locator("li[data-id]", has_text="停車場 → 大堂")
        assert "每 30 分鐘，10 分鐘內完成，22:00–06:00" in night.inner_text()
        night.locator("input[name=name]").fill("夜更巡邏")
        night.locator("button[name=rename]").click()
        page.wait_for_url(f"{site}/patrols/setup")
        with hub.client() as manager:
            rounds = manager.get(f"/sites/{SITE}/rounds").json()["rounds"]
        assert [(r["name"], r["every_minutes"]) for r in rounds] == [("Day", 60), ("夜更巡邏", 30)]
        page.locator(f"li[data-id='{rounds[1]['id']}'] button[name=remove]").click()
        page.wait_for_url(f"{site}/patrols/setup")
        assert page.locator(f"li[data-id='{rounds[1]['id']}']").count() == 0
        page.goto(f"{site}/patrols")
        sheet = page.locator("a[href$='/checkpoints.pdf']")
        assert page.request.get(hub.url + (sheet.get_attribute("href") or "")).headers[
            "content-type"
        ] == ("application/pdf")
    for page in tab(browser, viewport=PHONE):
        hub_log_in(page, hub, SUPERVISOR, "zh-Hant")
        page.goto(f"{site}/patrols")
        # the Day round's run that the post walked: between 22:00 and 06:00 the night round
        # made above has a run too, which can be listed first (the suite failed then)
        run = page.locator(f"li[data-id^='{rounds[0]['id']}@']", has_text="已掃描")
        assert run.count() == 1 and "大堂" in run.inner_text()
        assert codes_shown(page) == [] and serious_axe_violations(page) == []
        assert too_wide(page) is None
        shot(page, "patrol-hub-zh-Hant-phone")
        assert page.goto(f"{site}/patrols/setup").status == 403  # type: ignore[union-attr]
    for page in tab(browser):
        hub_log_in(page, hub, ELSEWHERE)
        assert page.goto(f"{site}/patrols").status == 404  # type: ignore[union-attr]
        assert page.goto(f"{site}/checkpoints.pdf").status == 404  # type: ignore[union-attr]


def check_the_hub_shows_the_runs(
    hub: HubServer, browser: Browser, walked: dict[str, Any], start: datetime
) -> None:
    """The hub's page and API show the walked run done with its scan times and the roof's
    missed; the day's and the month's reports count them, as a page and a PDF."""
    with hub.client() as manager:
        shown = manager.get(f"/sites/{OTHER}/patrols", params={"date": f"{start:%Y-%m-%d}"})
    assert [(r["name"], r["state"], r["starts_at"]) for r in shown.json()["rounds"]] == [
        ("Roof", "missed", walked["starts_at"]),
        ("Walk", "done", walked["starts_at"]),
    ]
    assert shown.json()["rounds"][1]["checkpoints"] == walked["checkpoints"]
    lobby_at = datetime.fromisoformat(walked["checkpoints"][0]["scanned_at"]).astimezone(ZONE)
    day, month = f"{start:%Y-%m-%d}", f"{start:%Y-%m}"
    for page in tab(browser):
        hub_log_in(page, hub, MANAGER, "zh-Hant")
        page.goto(f"{hub.url}/sites/{OTHER}")
        page.click(f"a[href='/sites/{OTHER}/patrols']")
        done = page.locator(f"li[data-id='{walked['round']}@{walked['starts_at']}']")
        assert done.get_attribute("data-state") == "done"
        assert "大堂 Lobby" in done.inner_text()
        assert f"{lobby_at:%H:%M} 已掃描" in done.inner_text()
        missed = page.locator("li[data-state=missed]")
        assert "天台 Roof" in missed.inner_text() and "未掃描" in missed.inner_text()
        assert codes_shown(page) == [] and serious_axe_violations(page) == []
        shot(page, "patrol-hub-runs-zh-Hant")
        for path in (f"daily?site={OTHER}&date={day}", f"monthly?site={OTHER}&month={month}"):
            page.goto(f"{hub.url}/reports/{path}")
            counts = {
                k: page.locator(f"[data-patrols={k}]").inner_text()
                for k in ("done", "late", "missed")
            }
            assert counts == {"done": "1", "late": "0", "missed": "1"}, path
            printed = page.request.get(f"{hub.url}/reports/{path}&format=pdf")
            text = pdf_text(printed.body())
            assert "按時完成的巡邏" in text and "漏巡" in text, path
            assert re.search(r"天台 Roof\s+0\s+0\s+1", text), path
            assert re.search(r"大堂 Lobby\s+1\s+0\s+0", text), path
