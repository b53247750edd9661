"""Every answer of edge and hub forbids framing and sniffing: the one-tap checkout and the
override cannot be put in another site's frame, and the pages' CSP allows only their own
scripts and stylesheet (tests/browser.py fails a browser test on any CSP violation)."""

from __future__ import annotations

import httpx
from playwright.sync_api import Browser

from tests.browser import csp_violations, log_in, tab
from tests.helpers import MANAGER, EdgeServer, HubServer


def assert_protected(answer: httpx.Response) -> None:
    csp = answer.headers.get("content-security-policy", "")
    directives = {d.strip().split(" ")[0]: d.strip() for d in csp.split(";") if d.strip()}
    assert directives.get("frame-ancestors") == "frame-ancestors 'none'", (answer.url, csp)
    assert directives.get("script-src") == "script-src 'self'", (answer.url, csp)
    assert directives.get("style-src") == "style-src 'self'", (answer.url, csp)
    assert answer.headers.get("x-content-type-options") == "nosniff", answer.url
    assert answer.headers.get("x-frame-options") == "DENY", answer.url


def test_every_kind_of_answer_at_the_post_has_the_headers(edge: EdgeServer) -> None:
    token = edge.login()
    with httpx.Client(base_url=edge.url, timeout=30) as plain:
        answers = [
            plain.get("/"),  # 303 to /login
            plain.get("/login"),
            plain.get("/static/tablet.css"),
            plain.get("/static/live.js"),
            plain.get("/healthz"),
            plain.get("/api/v1/sync"),  # 401 from the bearer check
            plain.get("/api/v1/sync", headers={"Authorization": f"Bearer {token}"}),
            plain.post("/api/v1/visits", json={}, headers={"Authorization": f"Bearer {token}"}),
            plain.get("/no-such-page"),
        ]
    assert [a.status_code for a in answers] == [303, 200, 200, 200, 200, 401, 200, 422, 404]
    for answer in answers:
        assert_protected(answer)


def test_every_kind_of_answer_at_the_hub_has_the_headers(hub: HubServer) -> None:
    token = httpx.post(f"{hub.url}/api/v1/auth/login", json=MANAGER).json()["token"]
    with httpx.Client(base_url=hub.url, timeout=30) as plain:
        answers = [
            plain.get("/"),
            plain.get("/login"),
            plain.get("/static/tablet.css"),
            plain.get("/healthz"),
            plain.get("/api/v1/devices"),
            plain.get("/api/v1/devices", headers={"Authorization": f"Bearer {token}"}),
            plain.get("/no-such-page"),
        ]
    assert [a.status_code for a in answers] == [303, 200, 200, 200, 401, 200, 404]
    for answer in answers:
        assert_protected(answer)


def test_a_page_of_the_post_cannot_be_framed(browser: Browser, edge: EdgeServer) -> None:
    """Another page frames the tablet's home (logged in): the browser refuses to show it."""
    for page in tab(browser):
        log_in(page, edge)
        page.set_content("<h1>not the post</h1>")  # about:blank: no CSP of its own
        with page.expect_console_message(lambda m: "frame-ancestors" in m.text, timeout=10000):
            page.evaluate(
                """(url) => { const f = document.createElement('iframe');
                f.src = url; document.body.appendChild(f); }""",
                f"{edge.url}/",
            )
        assert page.frames[1].locator("button[name=logout]").count() == 0
        assert any("frame-ancestors 'none'" in v for v in csp_violations(page))
        csp_violations(page).clear()  # the refusal was the point; anything else fails the tab
