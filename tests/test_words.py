"""No code on a page: a guard reading the tablet in Traditional Chinese never meets `held_open`,
`follow_up`, `in_progress` or `guard_override`. The codes are the contract's (every enum of
`schemas.fields` and the incident categories the pages know); a page words each at display
time in its own language. A walk through every tablet page with records of each kind, every
text node checked."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page

from schemas import fields
from service.i18n import gettext_for
from service.pages_text import labels_for
from tests.browser import contrast, hub_log_in, log_in, shot, tab
from tests.helpers import MANAGER, SUPERVISOR, Company, EdgeServer, wait_until

ENUMS = (
    fields.Category,
    fields.ConfirmationStatus,
    fields.DoorKind,
    fields.Severity,
    fields.Channel,
    fields.IncidentStatus,
    fields.EntryKind,
    fields.Role,
)
CODES = {member.value for enum in ENUMS for member in enum} | set(
    labels_for(gettext_for("en"))["incident_categories"]
)
# a code as a word of its own: not inside a longer word, a slug or an address
WORD = re.compile(r"(?<![\w/.-])([a-z][a-z_]*[a-z])(?![\w/.-])")


def codes_shown(page: Page) -> list[str]:
    """Every code that stands as a word in a visible text node of the page's <body>."""
    texts: list[str] = page.evaluate(
        """() => {
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        const out = [];
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const parent = node.parentElement;
            if (!parent || parent.closest("script, style, [hidden]")) { continue; }
            if (parent.offsetParent === null && getComputedStyle(parent).position !== "fixed") {
                continue;
            }
            if (node.textContent.trim()) { out.push(node.textContent); }
        }
        return out;
    }"""
    )
    return sorted({m for text in texts for m in WORD.findall(text) if m in CODES})


def test_no_code_is_shown_on_a_zh_hant_walk_of_the_tablet(page: Page, edge: EdgeServer) -> None:
    with edge.client(edge.login()) as guard, edge.client(edge.login(SUPERVISOR)) as boss:
        visit = guard.post(
            "/visits",
            json={"visitor_name": "陳小明", "unit": "12A", "category": "contractor"},
        ).json()
        guard.post(f"/visits/{visit['id']}/override", json={"reason": "住戶不在，管理處批准"})
        door = guard.post(
            "/door-events", json={"door": "停車場", "kind": "held_open", "duration_s": 900}
        ).json()
        guard.post(
            "/door-events", json={"door": "大堂", "kind": "guard_override", "reason": "送貨"}
        )
        complaint = guard.post(
            "/incidents",
            json={
                "category": "complaint",
                "severity": "minor",
                "title": "樓上漏水",
                "channel": "in_person",
            },
        ).json()
        for kind in ("follow_up", "summary", "police_called"):
            guard.post(f"/incidents/{complaint['id']}/entries", json={"kind": kind, "text": "完成"})
        for step in ("acknowledged", "in_progress", "resolved"):
            guard.post(f"/incidents/{complaint['id']}/status", json={"status": step})
        boss.post(f"/incidents/{complaint['id']}/status", json={"status": "closed"})
        guard.post("/shift-notes", json={"text": "交更：一切正常"})

    log_in(page, edge, "zh-Hant")
    walk = [
        "/",
        "/visits",
        f"/visits/{visit['id']}",
        "/visits/new",
        "/incidents",
        f"/incidents/{door['incident_id']}",
        f"/incidents/{complaint['id']}",
        "/incidents/new",
        "/door-events/new",
        "/logbook",
        "/shift",
        "/patrol",
    ]
    shown = {}
    for path in walk:
        page.goto(f"{edge.url}{path}")
        found = codes_shown(page)
        if found:
            shown[path] = found
    shot(page, "words-logbook-zh-Hant")
    assert shown == {}


def test_no_code_is_shown_on_the_hubs_pages_in_zh_hant_and_overdue_can_be_read(
    browser: Browser, company: Company
) -> None:
    post, hub = company.start_with_post("harbour-view")
    with hub.client() as manager:  # a severe incident falls due a second after it opens
        manager.put("/sites/harbour-view/settings", json={"deadlines_h": {"severe": 0.0003}})

    def settings_applied() -> bool:
        with post.client(post.token()) as api:
            return bool(api.get("/settings").json()["versions"]["settings"] == 1)

    wait_until(settings_applied, 30, "the post to apply the deadline")
    with post.client(post.login()) as guard:
        visit = guard.post(
            "/visits", json={"visitor_name": "陳小明", "unit": "12A", "category": "delivery"}
        ).json()
        door = guard.post("/door-events", json={"door": "停車場", "kind": "forced"}).json()
        complaint = guard.post(
            "/incidents",
            json={"category": "complaint", "severity": "minor", "title": "樓上漏水"},
        ).json()
        guard.post(
            f"/incidents/{complaint['id']}/entries", json={"kind": "follow_up", "text": "已回訪"}
        )
        guard.post(f"/incidents/{complaint['id']}/status", json={"status": "acknowledged"})

    def synced() -> bool:
        with post.client(post.token()) as api:
            state = api.get("/sync").json()
        return bool(state["connected"] and state["backlog"] == 0)

    wait_until(synced, 30, "the post to sync")
    walk = [
        "/",
        "/sites/harbour-view",
        "/incidents",
        f"/incidents/{door['incident_id']}",
        f"/incidents/{complaint['id']}",
        f"/visits/{visit['id']}",
        "/search?q=陳小明",
        "/sites",
        "/guards",
    ]
    shown = {}

    def overdue_at_hub() -> bool:
        with hub.session() as manager:
            return bool(manager.get(f"/incidents/{door['incident_id']}").json()["overdue"])

    wait_until(overdue_at_hub, 30, "the forced door's incident to fall due")
    for page in tab(browser):
        hub_log_in(page, hub, MANAGER, "zh-Hant")
        for path in ("/", "/incidents"):  # the overdue badge can be read (WCAG AA)
            page.goto(f"{hub.url}{path}")
            badge = page.locator(f"li[data-id='{door['incident_id']}'] .badge").first
            assert contrast(badge) >= 4.5, path
        for path in walk:
            page.goto(f"{hub.url}{path}")
            found = codes_shown(page)
            if found:
                shown[path] = found
    company.stop_all(hub)
    assert shown == {}
