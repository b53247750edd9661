"""The daily and monthly reports as a page, a CSV and a PDF (its text read back with
pdftotext), in Chinese, from a hub fed by real posts; another site's report is 404 and
every export is in the audit log; no full ID number anywhere."""

from __future__ import annotations

import csv
import io
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import Browser, expect

from hub import reports
from hub.store import DB_FILE, Store, connect, create_schema, init_store
from schemas.canonical import GENESIS_HASH, event_hash
from schemas.ids import format_time, new_id
from tests.browser import SHOTS, hub_log_in, shot, tab
from tests.conftest import both_engines
from tests.helpers import MANAGER, Company, wait_until
from tests.test_hub_pages import SUPERVISOR, World

HK = ZoneInfo("Asia/Hong_Kong")


def pdf_text(data: bytes) -> str:
    result = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, timeout=60, check=True
    )
    return result.stdout.decode("utf-8")


@both_engines
def test_daily_and_monthly_reports_in_every_format(browser: Browser, company: Company) -> None:
    world = World(company)
    post = world.harbour
    with post.client(post.login()) as api:
        api.post(
            "/door-events",
            json={"door": "側門", "kind": "guard_override", "reason": "長者住戶提著重物"},
        )
        complaint = api.post(
            "/incidents",
            json={"category": "complaint", "severity": "minor", "title": "樓上裝修噪音"},
        ).json()
        for kind, text in (("follow_up", "已回訪住戶"), ("summary", "裝修已停止")):
            api.post(f"/incidents/{complaint['id']}/entries", json={"kind": kind, "text": text})
        for status in ("acknowledged", "in_progress", "resolved"):
            api.post(f"/incidents/{complaint['id']}/status", json={"status": status})
    with post.client(post.login({"badge": "9001", "pin": "13579"})) as api:
        api.post(f"/incidents/{complaint['id']}/status", json={"status": "closed"})
    wait_until(lambda: world.synced(post), 30, "the post to sync")
    today = datetime.now(HK).date()
    daily = f"/reports/daily?site=harbour-view&date={today.isoformat()}"
    monthly = f"/reports/monthly?month={today.strftime('%Y-%m')}"

    for page in tab(browser):
        hub_log_in(page, world.hub, MANAGER, "zh-Hant")
        page.goto(world.hub.url + daily)
        main = page.locator("main")
        expect(main).to_contain_text("每日報告 · harbour-view")
        expect(main).to_contain_text("長者住戶提著重物")
        expect(page.locator("td[data-count='guest']")).to_have_text("1")
        expect(page.locator("main svg.chart")).to_have_count(2)
        shot(page, "hub-report-daily-zh-Hant")
        page.goto(world.hub.url + monthly)
        expect(main).to_contain_text("每月管理報告 · 所有大廈")
        expect(page.locator("td[data-complaints='closed_with_follow_up']")).to_have_text("1")
        expect(page.locator("tr[data-severity='minor'] td").nth(4)).to_have_text("1 / 1")
        # the post has been connected since it started this month: all of it, so far
        expect(page.locator("td[data-uptime]").first).to_contain_text("本月連線 100.0%")
        shot(page, "hub-report-monthly-zh-Hant")

        cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    import httpx

    with httpx.Client(base_url=world.hub.url, cookies=cookies, timeout=120) as hub:
        rows = list(
            csv.reader(io.StringIO(hub.get(daily + "&format=csv").content.decode("utf-8-sig")))
        )
        assert rows[0][:3] == ["site", "device", "checked_in_at"]
        assert [(r[0], r[4], r[6], r[7]) for r in rows[1:]] == [
            ("harbour-view", "12A", "陳小明", "A****567(8)")
        ]
        whole = hub.get(monthly + "&format=csv").content.decode("utf-8-sig")
        assert {r[0] for r in list(csv.reader(io.StringIO(whole)))[1:]} == {
            "harbour-view",
            "sunrise-court",
        }
        for url, words in (
            (daily, ["每日報告", "長者住戶提著重物", "陳小明"]),
            (monthly, ["每月管理報告", "投訴", "harbour-view"]),
        ):
            answer = hub.get(url + "&format=pdf&lang=zh-Hant")
            assert answer.headers["content-type"] == "application/pdf"
            text = pdf_text(answer.content)
            if SHOTS:  # the PDF's first page, as people see it
                name = "hub-report-daily-pdf" if url == daily else "hub-report-monthly-pdf"
                subprocess.run(
                    [
                        "pdftoppm",
                        "-png",
                        "-r",
                        "70",
                        "-f",
                        "1",
                        "-l",
                        "1",
                        "-singlefile",
                        "-",
                        str(SHOTS / name),
                    ],
                    input=answer.content,
                    check=True,
                    timeout=60,
                )
            for word in words:
                assert word in text, (word, text[:500])
            assert "1234567(8)" not in text.replace("A****567(8)", "")
        audit = [
            e["target"]
            for e in hub.get(
                "/api/v1/audit",
                headers={
                    "Authorization": "Bearer "
                    + httpx.post(f"{world.hub.url}/api/v1/auth/login", json=MANAGER).json()["token"]
                },
            ).json()["entries"]
        ]
        assert any("format=pdf" in t for t in audit) and any("format=csv" in t for t in audit)

    for page in tab(browser):
        hub_log_in(page, world.hub, SUPERVISOR)
        for path in (
            "/reports/daily?site=sunrise-court",
            "/reports/daily?site=sunrise-court&format=csv",
            "/reports/monthly?site=sunrise-court&format=pdf",
        ):
            assert page.request.get(world.hub.url + path).status == 404, path
        mine = page.request.get(world.hub.url + monthly + "&format=csv").text()
        assert "sunrise-court" not in mine  # the supervisor's month covers their sites only


def chain(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Number and hash-chain events as a post would send them."""
    head = GENESIS_HASH
    for seq, event in enumerate(events, start=1):
        event.update(seq=seq, id=new_id(), pii_digest=None, prev_hash=head)
        event["hash"] = head = event_hash(event)
        event["pii"] = None
    return events


def test_response_times_count_the_first_acknowledgement_even_on_an_older_hub(
    tmp_path: Path,
) -> None:
    """The monthly report's times come from the first `acknowledged` and `resolved` of each
    incident; a hub database made before the hub kept them fills them in when it opens."""
    opened = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    incident, by = new_id(), "guard:1001"

    def status(minutes: int, previous: str, now: str) -> dict[str, Any]:
        return {
            "type": "incident.status",
            "record_id": incident,
            "at": format_time(opened + timedelta(minutes=minutes)),
            "data": {"status": now, "previous": previous, "by": by},
        }

    events = chain(
        [
            {
                "type": "incident.opened",
                "record_id": incident,
                "at": format_time(opened),
                "data": {
                    "category": "complaint",
                    "severity": "medium",
                    "title": "升降機故障",
                    "description": None,
                    "location": None,
                    "visit_id": None,
                    "channel": "phone",
                    "due_at": format_time(opened + timedelta(hours=1)),
                    "by": by,
                },
            },
            status(10, "open", "acknowledged"),
            status(20, "acknowledged", "resolved"),
            status(30, "resolved", "acknowledged"),  # reopened: the first times still count
            status(90, "acknowledged", "resolved"),
        ]
    )
    data = tmp_path / "hub"
    init_store(data)

    def times() -> dict[str, str]:
        store = Store(data)
        start, end = reports.period(store, opened.date() - timedelta(days=1), 3)
        [row] = store.report_rows(None, start, end)["incidents"]
        return row["milestones"]

    Store(data).ingest(
        [
            (
                "harbour-view",
                "lobby-1",
                {"site": "harbour-view", "device": "lobby-1", "events": events},
            )
        ]
    )
    first = {"acknowledged": events[1]["at"], "resolved": events[2]["at"]}
    assert times() == first
    conn = sqlite3.connect(data / DB_FILE)  # as a hub made before the columns were there
    conn.execute("DROP INDEX incidents_assignee")
    later = ("assignee", "title_code", "complainant_name", "complainant_unit")  # in 5 and 6
    later += ("complainant_phone", "visitor_name", "reply_by", "purged_at")
    for column in ("acknowledged_at", "resolved_at", *later):
        conn.execute(f"ALTER TABLE incidents DROP COLUMN {column}")
    for table in ("checkpoints", "rounds"):  # added in 8
        conn.execute(f"ALTER TABLE {table} DROP COLUMN removed_at")
    conn.execute("ALTER TABLE devices DROP COLUMN disk_free_mb")  # added in 10
    conn.execute("PRAGMA user_version = 0")  # and before numbered migrations
    conn.close()
    conn = connect(data / DB_FILE)
    create_schema(conn)
    conn.close()
    assert times() == first
