"""The hub's fleet pages in a real Chromium against a real hub, Mosquitto and post (one of each
for the module): a manager changes a site's settings, adds and disables a guard and uploads a
directory on the pages, and the post follows; a supervisor and an auditor read without forms
and are refused a change; every page passes axe-core and fits a 1024x768 tablet."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import (
    PHONE,
    csrf_on,
    hub_log_in,
    serious_axe_violations,
    shot,
    signed_in,
    small_targets,
    tab,
    too_wide,
)
from tests.helpers import MANAGER, Company, EdgeServer, HubServer, add_user, wait_until

SITE = "harbour-view"
OTHER = "sunrise-court"  # a site with a record and no post
SUPERVISOR = {"username": "wong", "password": "wong-pass-1"}
AUDITOR = {"username": "audit", "password": "audit-pass-1"}
NEW_GUARD = {"badge": "7001", "name": "李志強", "pin": "86420"}


class World:
    """One broker, hub and post of SITE for the module; OTHER has a record only."""

    def __init__(self, root: Path) -> None:
        self.company = Company(root)
        for user, role in ((SUPERVISOR, "supervisor"), (AUDITOR, "auditor")):
            add_user(self.company.hub_data, user, role, SITE)
        self.post: EdgeServer
        self.hub: HubServer
        self.post, self.hub = self.company.start_with_post(SITE)
        with self.hub.client() as manager:
            made = manager.put(f"/sites/{OTHER}", json={"name": "旭日苑", "kind": "residential"})
            assert made.status_code == 200, made.text

    def post_settings(self) -> dict[str, Any]:
        with self.post.client(self.post.token()) as api:
            return dict(api.get("/settings").json())


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    world = World(tmp_path_factory.mktemp("fleet-pages"))
    try:
        yield world
    finally:
        world.company.stop_all(*world.company.extra)


def fits_and_passes_axe(page: Page, what: str) -> None:
    assert serious_axe_violations(page) == [], what
    assert small_targets(page) == [], what
    assert too_wide(page) is None, what


def test_a_manager_changes_a_sites_settings_and_the_post_follows(
    browser: Browser, world: World
) -> None:
    for page in tab(browser):
        hub_log_in(page, world.hub, MANAGER, "zh-Hant")
        page.click(".menu a[href='/sites']")
        page.click(f"[data-id='{SITE}'] a[href='/sites/{SITE}/settings']")
        page.fill("input[name='deadlines_h.severe']", "0")  # not over 0
        page.fill("input[name=retention_days]", "60")
        page.click("form.settings button[type=submit]")
        error = page.locator("[id='deadlines_h.severe-error']")
        expect(error).to_have_text("請輸入時數：大於 0，最多 8760。")
        expect(page.locator("input[name='deadlines_h.severe']")).to_have_value("0")  # kept
        expect(page.locator("input[name=retention_days]")).to_have_value("60")
        page.fill("input[name='deadlines_h.severe']", "3")
        page.click("form.settings button[type=submit]")
        expect(page.locator("[data-setting='deadlines_h.severe']")).to_have_text("3 小時")
        page.fill("input[name=name]", "海景大廈")
        page.select_option("select[name=kind]", "commercial")
        page.click(f"form[action='/sites/{SITE}/record'] button[type=submit]")
        expect(page.locator("h1")).to_contain_text("海景大廈")
        expect(page.locator("main dl")).to_contain_text("商業")

        def applied() -> dict[str, Any] | None:
            settings = world.post_settings()
            return settings if settings["name"] == "海景大廈" else None

        settings = wait_until(applied, 30, "the post to apply the new settings")
        assert settings["deadlines_h"]["severe"] == 3.0
        assert settings["retention_days"] == 60
        version = settings["versions"]["settings"]
        page.goto(f"{world.hub.url}/sites")
        applied_cell = page.locator(
            f"[data-id='{SITE}'] [data-device='lobby-1'] [data-applied=settings]"
        )
        expect(applied_cell).to_have_text(f"版本 {version}")
        shot(page, "fleet-sites-zh-Hant")
    with world.hub.client() as manager:
        audit = [(e["username"], e["action"]) for e in manager.get("/audit").json()["entries"]]
    assert ("manager", "change site settings") in audit and ("manager", "change site") in audit


def test_a_guard_added_on_the_page_logs_in_at_the_post_until_disabled(
    browser: Browser, world: World
) -> None:
    post = world.post
    for page in tab(browser):
        hub_log_in(page, world.hub, MANAGER)
        page.click(".menu a[href='/guards']")
        page.fill("input[name=badge]", NEW_GUARD["badge"])
        page.fill("input[name=name]", NEW_GUARD["name"])
        page.fill("input[name=pin]", "12")
        page.click("main form.card button[type=submit]")  # a short PIN, no site ticked
        expect(page.locator("#pin-error")).to_have_text("A PIN is 4 to 8 digits.")
        expect(page.locator("#sites-error")).to_have_text("Tick at least one site.")
        expect(page.locator("input[name=pin]")).to_have_value("")  # never sent back
        expect(page.locator("input[name=name]")).to_have_value(NEW_GUARD["name"])
        page.fill("input[name=pin]", NEW_GUARD["pin"])
        page.check(f"input[name=sites][value='{SITE}']")
        page.click("main form.card button[type=submit]")
        row = page.locator(f"tr[data-id='{NEW_GUARD['badge']}']")
        expect(row).to_contain_text(NEW_GUARD["name"])
        expect(row).to_have_attribute("data-disabled", "false")
        assert "$argon2" not in page.content() and NEW_GUARD["pin"] not in page.content()

        def logs_in() -> bool:
            answer = httpx.post(f"{post.url}/api/v1/auth/login", json=NEW_GUARD, timeout=10)
            return answer.status_code == 200

        wait_until(logs_in, 30, "the new guard to log in at the post")
        shot(page, "fleet-guards-added-en")
        row.locator("input[name=reason]").fill("已離職")
        row.locator("button[name=disable]").click()
        expect(row).to_have_attribute("data-disabled", "true")
        expect(row.locator("button[name=disable]")).to_have_count(0)
        shot(page, "fleet-guards-en")

        def refused() -> bool:
            answer = httpx.post(f"{post.url}/api/v1/auth/login", json=NEW_GUARD, timeout=10)
            return answer.status_code == 401

        wait_until(refused, 30, "the disabled guard to be refused at the post")


def test_a_directory_upload_reaches_the_post_and_a_bad_line_is_refused(
    browser: Browser, world: World, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("unit,intercom,residents\n31A,3101,何太太\n,3102,\n", encoding="utf-8")
    good = tmp_path / "good.csv"
    good.write_text("unit,intercom,residents\n31A,3101,何太太\n31B,,\n", encoding="utf-8")
    for page in tab(browser):
        hub_log_in(page, world.hub, MANAGER, "zh-Hans")
        page.goto(f"{world.hub.url}/sites/{SITE}/units")
        page.set_input_files("input[name=file]", str(bad))
        page.click("main form.card button[type=submit]")
        expect(page.locator("#csv-error")).to_have_text("第 3 行，单位：空白、过长或含控制字符。")
        expect(page.locator("textarea[name=csv]")).to_contain_text("31A,3101,何太太")  # to fix
        page.set_input_files("input[name=file]", str(good))
        page.click("main form.card button[type=submit]")
        expect(page.locator("table.units tbody tr")).to_have_count(2)
        expect(page.locator("tr[data-id='31A']")).to_contain_text("何太太")
        version = int(page.locator("[data-version]").get_attribute("data-version") or 0)
        assert version >= 1
        shot(page, "fleet-units-zh-Hans")

    def suggested() -> list[str] | None:
        with world.post.client(world.post.token()) as api:
            units = [u["unit"] for u in api.get("/units", params={"q": "3"}).json()["units"]]
        return units if units == ["31A", "31B"] else None

    wait_until(suggested, 30, "the post's unit suggestions to follow the upload")
    assert world.post_settings()["versions"]["directory"] == version


def test_a_supervisor_and_an_auditor_read_without_forms_and_are_refused_changes(
    world: World,
) -> None:
    hub = world.hub
    for user in (SUPERVISOR, AUDITOR):
        with signed_in(hub.url, user) as browser:
            sites = browser.get("/sites?lang=zh-Hant")
            assert sites.status_code == 200
            assert f'data-id="{SITE}"' in sites.text and OTHER not in sites.text
            for path in ("/sites", f"/sites/{SITE}/settings", f"/sites/{SITE}/units"):
                shown = browser.get(path)
                assert shown.status_code == 200, path
                assert '<form method="post" action="/sites' not in shown.text, path
            for path in (f"/sites/{OTHER}/settings", f"/sites/{OTHER}/units"):
                assert browser.get(path).status_code == 404, path
            token = csrf_on(browser, "/sites")
            for path, form in (
                (f"/sites/{SITE}/settings", {"retention_days": "7"}),
                (f"/sites/{SITE}/record", {"name": "Hijacked"}),
                (f"/sites/{SITE}/units", {"csv": "unit,intercom,residents\n1A,,\n"}),
                ("/sites", {"site": "new-site", "name": "New"}),
                ("/guards", {"badge": "7100", "name": "X", "pin": "1234", "sites": SITE}),
                ("/guards/7001/disable", {"reason": "x"}),
            ):
                refused = browser.post(path, data={"csrf": token, **form})
                assert refused.status_code == 403, (user, path)
                assert "你無權進行此操作。" in refused.text, (user, path)  # in the page's language
            other = browser.post(
                f"/sites/{OTHER}/settings", data={"csrf": token, "idle_minutes": "5"}
            )
            assert other.status_code == 404
            guards = browser.get("/guards")
            if user is SUPERVISOR:
                assert (
                    guards.status_code == 200
                    and '<form method="post" action="/guards' not in guards.text
                )
            else:
                assert guards.status_code == 403
    with hub.client() as manager:
        site = manager.get(f"/sites/{SITE}").json()
        assert site["name"] != "Hijacked" and site["settings"].get("retention_days") != 7
        assert "new-site" not in [s["site"] for s in manager.get("/sites").json()["sites"]]


FLEET_PAGES = ["/sites", f"/sites/{SITE}/settings", f"/sites/{SITE}/units", "/guards"]


def test_every_fleet_page_passes_axe_and_fits_a_tablet(browser: Browser, world: World) -> None:
    for lang in ("en", "zh-Hant"):
        for page in tab(browser):
            hub_log_in(page, world.hub, MANAGER, lang)
            for path in FLEET_PAGES:
                assert page.goto(f"{world.hub.url}{path}").status == 200, path
                expect(page.locator("html")).to_have_attribute("lang", lang)
                fits_and_passes_axe(page, (lang, path))
                if lang == "en":
                    shot(page, "fleet" + path.replace("/", "-").replace(SITE, "site"))
            page.goto(f"{world.hub.url}/sites/{SITE}/settings")  # a refused form, as shown
            page.fill("input[name=idle_minutes]", "abc")
            page.click("form.settings button[type=submit]")
            expect(page.locator("#idle_minutes-error")).to_be_visible()
            fits_and_passes_axe(page, (lang, "refused settings"))
    for page in tab(browser, viewport=PHONE):  # a manager on patrol: nothing wider than it
        hub_log_in(page, world.hub, MANAGER, "zh-Hant")
        for path in FLEET_PAGES:
            page.goto(f"{world.hub.url}{path}")
            assert small_targets(page) == [] and too_wide(page) is None, ("phone", path)
    for page in tab(browser):
        hub_log_in(page, world.hub, SUPERVISOR, "zh-Hant")
        for path in FLEET_PAGES:
            page.goto(f"{world.hub.url}{path}")
            fits_and_passes_axe(page, ("supervisor", path))
        shot(page, "fleet-guards-supervisor-zh-Hant")
