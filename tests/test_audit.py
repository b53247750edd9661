"""The hub's audit log: a search for an ID number leaves no trace of the number: not in the
audit log, not anywhere in the database file."""

from __future__ import annotations

from schemas.privacy import mask_id_numbers
from tests.helpers import Company, HubServer
from tests.test_reports_safety import page_session

CLEAR = "A1234567"  # what a user searches for: an ID number
MASKED = "A***4567"


def audit_lines(hub: HubServer) -> list[tuple[str, str, str]]:
    with hub.client() as manager:
        entries = manager.get("/audit").json()["entries"]
    return [(e["username"], e["action"], e["target"]) for e in entries]


def test_a_search_for_an_id_number_leaves_only_its_mask(company: Company) -> None:
    hub = company.hub()
    hub.broker_url = ""
    hub.start()
    company.extra = [hub]  # type: ignore[attr-defined]
    with hub.client() as manager:
        assert manager.get("/search", params={"q": CLEAR}).status_code == 200
        assert manager.get("/search", params={"q": f"visitor {CLEAR.lower()}(8)"}) \
            .status_code == 200
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
    typed = ["A1234567", "a123456(7)", "110101199003071234", "9123 4567", "9123-4567",
             "Ａ１２３４５６７", "陳小明", "lift 2024", "12A", "site=harbour-view date=2026-05-01",
             "id=01a22b7c-6cc1-7000-a3f2-95c6bc2b4df9", "daily-site-007-2026-05 format=csv",
        "report=daily-tower-2-2026-05-01"]
    assert [mask_id_numbers(t) for t in typed] == [
        "A***4567", "A***456(7)", "1*************1234", "9***4567", "9***-4567", "A***4567",
        "陳小明", "lift 2024", "12A", "site=harbour-view date=2026-05-01",
        "id=01a22b7c-6cc1-7000-a3f2-95c6bc2b4df9", "daily-site-007-2026-05 format=csv",
        "report=daily-tower-2-2026-05-01"]
