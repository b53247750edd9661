"""Reports are safe to open: a visitor's name cannot become a spreadsheet formula, and a
download's file name cannot break its header or add a second name."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import httpx
import pytest

from hub.reports import content_disposition, csv_cell
from tests.helpers import MANAGER, Company, HubServer, wait_until

HK = ZoneInfo("Asia/Hong_Kong")
# what people typed at the post -> the CSV cell a spreadsheet shows as text (OWASP)
TYPED = [
    ('=HYPERLINK("http://x")', "+1"),
    ("@SUM(1)", "-2"),
    ("陳小明", "=1+1"),
    ("Chan Tai Man", "Acme - Lifts"),
]
EXPECTED = sorted(
    [
        ('\'=HYPERLINK("http://x")', "'+1"),
        ("'@SUM(1)", "'-2"),
        ("陳小明", "'=1+1"),
        ("Chan Tai Man", "Acme - Lifts"),
    ]
)


@contextmanager
def page_session(hub: HubServer, user: dict[str, str] = MANAGER) -> Iterator[httpx.Client]:
    """A logged-in dashboard session (the cookie a browser would hold)."""
    with httpx.Client(base_url=hub.url, timeout=120) as client:
        answer = client.post("/login", data=user)
        assert answer.status_code == 303, answer.text
        yield client


PARAM = re.compile(r';\s*([A-Za-z*]+)=("[^"]*"|[^;\s]*)')


def disposition_names(header: str) -> dict[str, str]:
    """`filename` and `filename*` as a browser reads them (RFC 6266, 5987), each exactly once."""
    params = PARAM.findall(header)
    assert header.startswith("attachment;") and [n for n, _ in params] == [
        "filename",
        "filename*",
    ], header
    names = dict(params)
    charset, language, encoded = names["filename*"].split("'", 2)
    assert (charset, language) == ("UTF-8", "")
    return {"filename": names["filename"].strip('"'), "filename*": unquote(encoded)}


def test_formulas_typed_at_a_post_are_text_in_every_csv_download(company: Company) -> None:
    post, hub = company.start_with_post("harbour-view")
    with post.client(post.login()) as api:
        for name, firm in TYPED:
            answer = api.post(
                "/visits",
                json={
                    "visitor_name": name,
                    "company": firm,
                    "unit": "12A",
                    "category": "contractor",
                },
            )
            assert answer.status_code == 201, answer.text

    def synced() -> bool:
        with post.client(post.token()) as api:
            return bool(api.get("/sync").json()["backlog"] == 0)

    wait_until(synced, 30, "the post to sync")
    today = datetime.now(HK).date()
    with page_session(hub) as dashboard:
        for url in (
            f"/reports/daily?site=harbour-view&date={today}&format=csv",
            f"/reports/monthly?site=harbour-view&month={today:%Y-%m}&format=csv",
            f"/reports/monthly?month={today:%Y-%m}&format=csv",
        ):
            answer = dashboard.get(url)
            assert answer.status_code == 200, url
            rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
            assert sorted((r["visitor_name"], r["company"]) for r in rows) == EXPECTED, url
            assert {r["unit"] for r in rows} == {"12A"}
        # every download (CSV, PDF) is named by one header that parses both ways
        for url, name in (
            (
                f"/reports/daily?site=harbour-view&date={today}&format=csv",
                f"daily-harbour-view-{today}.csv",
            ),
            (f"/reports/monthly?month={today:%Y-%m}&format=pdf", f"monthly-all-{today:%Y-%m}.pdf"),
        ):
            header = dashboard.get(url).headers["content-disposition"]
            assert header == f"attachment; filename=\"{name}\"; filename*=UTF-8''{name}"
            assert disposition_names(header) == {"filename": name, "filename*": name}


def test_every_cell_the_hub_writes_goes_through_one_rule() -> None:
    """Tab and CR too (OWASP's list); numbers and empty cells as they are."""
    cells = ["=1", "+1", "-2", "@SUM(1)", "\tx", "\rx", "x=1", " plain", "", None, 3, "A****567(8)"]
    assert [csv_cell(c) for c in cells] == [
        "'=1",
        "'+1",
        "'-2",
        "'@SUM(1)",
        "'\tx",
        "'\rx",
        "x=1",
        " plain",
        "",
        "",
        "3",
        "A****567(8)",
    ]


@pytest.mark.parametrize(
    ("filename", "fallback"),
    [
        ("daily-海景-2026-05-01.csv", "daily-__-2026-05-01.csv"),
        ('daily-a"; filename="evil.exe.csv', "daily-a___filename__evil.exe.csv"),
        ("monthly-all-2026-05.pdf", "monthly-all-2026-05.pdf"),
        ("../../etc/passwd\r\nX-Injected: 1.pdf", "_.._etc_passwd__X-Injected__1.pdf"),
    ],
)
def test_a_download_name_in_chinese_or_with_quotes_is_one_safe_header(
    filename: str, fallback: str
) -> None:
    value = content_disposition(filename)
    assert value.isascii() and "\r" not in value and "\n" not in value
    assert value.count("filename=") == 1 and value.count("filename*=") == 1
    assert value.startswith(f"attachment; filename=\"{fallback}\"; filename*=UTF-8''")
    assert disposition_names(value) == {"filename": fallback, "filename*": filename}
