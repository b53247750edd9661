from __future__ import annotations

from tests.bodies import new_visit
from tests.helpers import EdgeServer


def test_a_guard_registers_a_visitor_and_it_is_in_the_logbook(edge: EdgeServer) -> None:
    with edge.client(edge.login()) as api:
        visit = api.post("/visits", json=new_visit("李小明", id_number="A1234567(8)"))
        assert visit.status_code == 201, visit.text
        assert visit.json()["visitor_name"] == "李小明"
        assert visit.json()["id_number_masked"] == "A****567(8)"
        entries = api.get("/logbook").json()["entries"]
    assert [(e["seq"], e["type"], e["record_id"]) for e in entries] == [
        (1, "visit.registered", visit.json()["id"])
    ]
