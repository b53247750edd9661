"""The hub's audit log: every read of personal data, in the API as on the pages, is recorded;
the watch list is for managers only, on the page and in the API alike; and a search for an ID
number leaves no trace of the number: not in the audit log, not anywhere in the database file."""

from __future__ import annotations

from typing import Any

from schemas.privacy import mask_id_numbers
from tests.bodies import new_incident
from tests.helpers import Company, HubServer, add_user, wait_until
from tests.test_reports_safety import page_session

SUPERVISOR = {"username": "wong", "password": "wong-pass-123"}
AUDITOR = {"username": "audit", "password": "audit-pass-1"}
CLEAR = "A1234567"  # what a user searches for: an ID number
MASKED = "A***4567"


def audit_lines(hub: HubServer) -> list[tuple[str, str, str]]:
    with hub.client() as manager:
        entries = manager.get("/audit").json()["entries"]
    return [(e["username"], e["action"], e["target"]) for e in entries]


def add_users(company: Company) -> None:
    for user, role in ((SUPERVISOR, "supervisor"), (AUDITOR, "auditor")):
        add_user(company.hub_data, user, role, "harbour-view")


def test_only_a_manager_reads_the_watch_list_and_every_read_is_audited(company: Company) -> None:
    add_users(company)
    post, hub = company.start_with_post("harbour-view")
    with post.client(post.login()) as api:
        noise = new_incident("complaint", "minor", "Noise from 12A", complainant_name="陳太太")
        incident = api.post("/incidents", json=noise).json()

    def arrived() -> Any:
        with hub.client() as manager:
            return manager.get(f"/incidents/{incident['id']}").status_code == 200

    wait_until(arrived, 30, "the incident to reach the hub")
    with hub.client() as manager:
        made = manager.post("/watchlist", json={"name": "Wong Ka-ho", "reason": "theft"})
        assert made.status_code == 201

    for user in (SUPERVISOR, AUDITOR):
        with hub.client(user) as api:
            refused = api.get("/watchlist")
            assert refused.status_code == 403
            assert "Wong Ka-ho" not in refused.text and "theft" not in refused.text
            assert api.get("/incidents/no-such-incident").status_code == 404
        with page_session(hub, user) as dashboard:
            page = dashboard.get("/watchlist")
            assert page.status_code == 403 and "Wong Ka-ho" not in page.text

    before = len(audit_lines(hub))
    with hub.client() as manager:
        for path, params in (
            ("/visits", {"site": "harbour-view"}),
            ("/incidents", {}),
            (f"/incidents/{incident['id']}", {}),
            ("/logbook", {"site": "harbour-view", "date": "2026-05-01"}),
            ("/search", {"q": "Noise"}),
            ("/watchlist", {}),
        ):
            assert manager.get(path, params=params).status_code == 200, path
    with page_session(hub) as dashboard:
        page = dashboard.get("/watchlist")
        assert page.status_code == 200 and "Wong Ka-ho" in page.text
        assert dashboard.get(f"/incidents/{incident['id']}").status_code == 200
    lines = audit_lines(hub)  # newest first
    assert sorted(lines[: len(lines) - before]) == sorted(
        [
            ("manager", "api visits", "site=harbour-view date=* on_site=*"),
            ("manager", "api incidents", "site=* status=* severity=* overdue=*"),
            ("manager", "api incident", f"id={incident['id']}"),
            ("manager", "api logbook", "site=harbour-view date=2026-05-01"),
            ("manager", "api search", "q=Noise site=*"),
            ("manager", "view watch list", "version=1"),  # the API's read
            ("manager", "view watch list", "version=1"),  # and the page's
            ("manager", "incident page", f"id={incident['id']}"),
        ]
    )
    # refused and unknown reads were not reads: nothing recorded for the supervisor or auditor
    assert not [line for line in lines if line[0] in ("wong", "audit")]


def test_a_search_for_an_id_number_leaves_only_its_mask(company: Company) -> None:
    hub = company.hub()
    hub.broker_url = ""
    hub.start()
    company.extra = [hub]
    with hub.client() as manager:
        assert manager.get("/search", params={"q": CLEAR}).status_code == 200
        assert (
            manager.get("/search", params={"q": f"visitor {CLEAR.lower()}(8)"}).status_code == 200
        )
    with page_session(hub) as dashboard:
        assert dashboard.get("/search", params={"q": f"{CLEAR} 陳"}).status_code == 200
    lines = audit_lines(hub)
    assert [line for line in lines if "search" in line[1]] == [
        ("manager", "search", f"q={MASKED} 陳 site=*"),
        ("manager", "api search", "q=visitor A****567(8) site=*"),
        ("manager", "api search", f"q={MASKED} site=*"),
    ]
    hub.stop()  # the last connection closes: the WAL is checkpointed into the file
    for path in company.hub_data.glob("hub.db*"):
        data = path.read_bytes()
        assert CLEAR.encode() not in data and CLEAR.lower().encode() not in data, path
    assert CLEAR not in hub.output() and CLEAR.lower() not in hub.output()


def test_what_looks_like_an_id_number_is_masked_and_nothing_else() -> None:
    typed_and_masked = [
        ("A1234567", "A***4567"),
        ("a123456(7)", "A***456(7)"),
        ("110101199003071234", "1*************1234"),
        ("9123 4567", "9***4567"),
        ("9123-4567", "9***-4567"),
        ("Ａ１２３４５６７", "A***4567"),
        ("陳小明", "陳小明"),
        ("lift 2024", "lift 2024"),
        ("12A", "12A"),
        ("site=harbour-view date=2026-05-01", "site=harbour-view date=2026-05-01"),
        ("id=01a22b7c-6cc1-7000-a3f2-95c6bc2b4df9", "id=01a22b7c-6cc1-7000-a3f2-95c6bc2b4df9"),
        ("daily-site-007-2026-05 format=csv", "daily-site-007-2026-05 format=csv"),
        ("report=daily-tower-2-2026-05-01", "report=daily-tower-2-2026-05-01"),
    ]
    typed = [t for t, _ in typed_and_masked]
    assert [mask_id_numbers(t) for t in typed] == [m for _, m in typed_and_masked]
