"""The edge API as a guard's tablet and an integrator drive it, through a real server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from schemas.ids import parse_time
from tests.helpers import GUARD, SUPERVISOR, EdgeServer, error_fields, init_post, wait_until

HK = ZoneInfo("Asia/Hong_Kong")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeServer]:
    data = tmp_path_factory.mktemp("api") / "post"
    keys = init_post(data)
    # minor incidents fall due within a second, so `overdue` can be seen in a test
    edge = EdgeServer(data, env={"GUARDPOST_DEADLINE_MINOR_H": "0.0002"})
    edge.keys = keys  # type: ignore[attr-defined]
    edge.start()
    try:
        yield edge
    finally:
        edge.stop()


@pytest.fixture(scope="module")
def api(server: EdgeServer) -> Iterator[httpx.Client]:
    with server.client(server.login(GUARD)) as client:
        yield client


@pytest.fixture(scope="module")
def boss(server: EdgeServer) -> Iterator[httpx.Client]:
    with server.client(server.login(SUPERVISOR)) as client:
        yield client


def visit(api: httpx.Client, **fields: Any) -> dict[str, Any]:
    body = {"visitor_name": "李小明", "unit": "12A", "category": "guest", **fields}
    answer = api.post("/visits", json=body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def incident(api: httpx.Client, **fields: Any) -> dict[str, Any]:
    body = {"category": "security", "severity": "medium", "title": "陌生人徘徊", **fields}
    answer = api.post("/incidents", json=body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def logbook_types(api: httpx.Client) -> list[tuple[str, str]]:
    return [(e["type"], e["record_id"]) for e in api.get("/logbook").json()["entries"]]


# ---- visits ---------------------------------------------------------------------------------


def test_registering_a_visitor_answers_the_whole_visit(api: httpx.Client) -> None:
    given: dict[str, Any] = {"phone": "+852 9123 4567", "company": "順豐速運"}
    given |= {"purpose": "送貨 parcel", "party_size": 3, "vehicle_plate": "AB 1234"}
    given |= {"notes": "帶同手推車"}
    answer = visit(api, id_number="A1234567(8)", **given)
    assert answer == {
        "id": answer["id"],
        "site": "harbour-view",
        "device": "lobby-1",
        "visitor_name": "李小明",
        "id_number_masked": "A****567(8)",
        "unit": "12A",
        "category": "guest",
        **given,  # every field given comes back as it was
        "checked_in_at": answer["checked_in_at"],
        "checked_out_at": None,
        "guard": GUARD["badge"],
        "confirmation": {"status": "not_required", "request_id": None, "answered_at": None},
        "flag": None,
    }
    assert abs(parse_time(answer["checked_in_at"]) - datetime.now(HK)) < timedelta(seconds=30)
    assert api.get(f"/visits/{answer['id']}").json() == answer
    logged = [e for e in api.get("/logbook").json()["entries"] if e["record_id"] == answer["id"]]
    assert [(e["type"], e["at"]) for e in logged] == [("visit.registered", answer["checked_in_at"])]


def test_the_unit_is_matched_without_case_and_party_size_defaults_to_one(api: httpx.Client) -> None:
    answer = visit(api, unit="12b", category="delivery")
    assert (answer["unit"], answer["party_size"], answer["id_number_masked"]) == ("12B", 1, None)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"unit": "12A", "category": "guest"}, ["visitor_name"]),
        ({"visitor_name": "x", "category": "guest"}, ["unit"]),
        ({"visitor_name": "x", "unit": "12A"}, ["category"]),
        ({}, ["visitor_name", "unit", "category"]),
        ({"visitor_name": "x", "unit": "99Z", "category": "guest"}, ["unit"]),
        ({"visitor_name": "x", "unit": "12A", "category": "vip"}, ["category"]),
        ({"visitor_name": "  ", "unit": "12A", "category": "guest"}, ["visitor_name"]),
        (
            {"visitor_name": "x", "unit": "12A", "category": "guest", "party_size": 0},
            ["party_size"],
        ),
        (
            {"visitor_name": "x", "unit": "12A", "category": "guest", "party_size": 51},
            ["party_size"],
        ),
        (
            {"visitor_name": "x", "unit": "12A", "category": "guest", "party_size": "3"},
            ["party_size"],
        ),
        (
            {"visitor_name": "x", "unit": "12A", "category": "guest", "party_size": True},
            ["party_size"],
        ),
        ({"visitor_name": 42, "unit": "12A", "category": "guest"}, ["visitor_name"]),
        ({"visitor_name": "x" * 201, "unit": "12A", "category": "guest"}, ["visitor_name"]),
        ({"visitor_name": "x\u0000y", "unit": "12A", "category": "guest"}, ["visitor_name"]),
        ({"visitor_name": "x", "unit": "12A", "category": "guest", "phone": ["1"]}, ["phone"]),
        (
            {"visitor_name": "x", "unit": "12A", "category": "guest", "id_number": "9" * 41},
            ["id_number"],
        ),
    ],
)
def test_a_bad_visit_is_422_naming_the_field_and_writes_nothing(
    api: httpx.Client, body: dict[str, Any], fields: list[str]
) -> None:
    before = logbook_types(api)
    answer = api.post("/visits", json=body)
    assert answer.status_code == 422, answer.text
    assert error_fields(answer) == fields
    assert logbook_types(api) == before


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{",
        b"null",
        b"[]",
        b'["visitor_name"]',
        b"42",
        b'"text"',
        b"\xff\xfe",
        b'{"visitor_name": "x", "unit": "12A", "category": "guest"' + b" " * 10,
    ],
)
def test_malformed_bodies_are_422_never_500(api: httpx.Client, raw: bytes) -> None:
    for path in ("/visits", "/incidents", "/door-events", "/shift-notes", "/auth/login"):
        answer = api.post(path, content=raw, headers={"content-type": "application/json"})
        assert answer.status_code == 422, (path, raw, answer.text)
        assert isinstance(answer.json()["detail"], list)


def test_a_megabyte_of_text_is_refused_cleanly(api: httpx.Client) -> None:
    huge = "字" * 1_000_000
    for path, body in (
        ("/visits", {"visitor_name": huge, "unit": "12A", "category": "guest"}),
        ("/shift-notes", {"text": huge}),
        ("/incidents", {"category": "x", "severity": "minor", "title": huge}),
    ):
        answer = api.post(path, json=body)
        assert answer.status_code in (413, 422), (path, answer.status_code)
        assert huge[:50] not in answer.text


def test_a_422_never_echoes_the_id_number(api: httpx.Client) -> None:
    answer = api.post(
        "/visits",
        json={
            "visitor_name": "x",
            "unit": "nowhere",
            "category": "guest",
            "id_number": "Q7654321(0)",
        },
    )
    assert answer.status_code == 422
    assert "7654321" not in answer.text
    answer = api.post(
        "/visits",
        json={
            "visitor_name": "x",
            "unit": "12A",
            "category": "guest",
            "id_number": ["Q7654321(0)"],
        },
    )
    assert answer.status_code == 422
    assert "7654321" not in answer.text


def test_checkout_then_checkout_again_is_409(api: httpx.Client) -> None:
    new = visit(api)
    out = api.post(f"/visits/{new['id']}/checkout", json={})
    assert out.status_code == 200
    assert out.json()["checked_out_at"] is not None
    again = api.post(f"/visits/{new['id']}/checkout", json={})
    assert (again.status_code, error_fields(again)) == (409, ["id"])
    assert api.get(f"/visits/{new['id']}").json()["checked_out_at"] == out.json()["checked_out_at"]
    assert api.post("/visits/no-such-visit/checkout", json={}).status_code == 404
    assert api.get("/visits/no-such-visit").status_code == 404


def test_override_logs_a_guard_override_door_event_once(api: httpx.Client) -> None:
    new = visit(api)
    assert error_fields(api.post(f"/visits/{new['id']}/override", json={})) == ["reason"]
    answer = api.post(
        f"/visits/{new['id']}/override", json={"reason": "住戶電話無人接聽，已認識訪客"}
    )
    assert answer.status_code == 200
    assert answer.json()["confirmation"]["status"] == "overridden"
    entries = api.get("/logbook").json()["entries"]
    door = [e for e in entries if e["type"] == "door.event"][-1]
    assert "guard_override" in door["summary"] and "已認識訪客" in door["summary"]
    assert api.post(f"/visits/{new['id']}/override", json={"reason": "again"}).status_code == 409
    assert api.post("/visits/nope/override", json={"reason": "x"}).status_code == 404


def test_the_register_filters_on_site_unit_and_date(api: httpx.Client) -> None:
    inside = visit(api, unit="3C")
    left = visit(api, unit="3C")
    api.post(f"/visits/{left['id']}/checkout", json={})
    on_site = [v["id"] for v in api.get("/visits", params={"on_site": "true"}).json()["visits"]]
    assert inside["id"] in on_site and left["id"] not in on_site
    by_unit = api.get("/visits", params={"unit": "3c"}).json()["visits"]
    assert [v["id"] for v in by_unit] == [left["id"], inside["id"]]  # newest first
    today = datetime.now(HK).date()
    assert left["id"] in [
        v["id"] for v in api.get("/visits", params={"date": today.isoformat()}).json()["visits"]
    ]
    assert (
        api.get("/visits", params={"date": (today - timedelta(days=3)).isoformat()}).json()[
            "visits"
        ]
        == []
    )
    assert error_fields(api.get("/visits", params={"date": "2026-13-40"})) == ["date"]
    assert error_fields(api.get("/visits", params={"on_site": "maybe"})) == ["on_site"]


# ---- door events ----------------------------------------------------------------------------


def test_door_events(api: httpx.Client, server: EdgeServer) -> None:
    answer = api.post(
        "/door-events",
        json={"door": "大堂正門", "kind": "held_open", "occurred_at": "2026-11-20T01:02:03+08:00"},
    )
    assert answer.status_code == 201, answer.text
    assert {k: answer.json()[k] for k in ("door", "kind", "reason", "occurred_at", "guard")} == {
        "door": "大堂正門",
        "kind": "held_open",
        "reason": None,
        "occurred_at": "2026-11-19T17:02:03.000+00:00",
        "guard": GUARD["badge"],
    }
    no_reason = api.post("/door-events", json={"door": "main", "kind": "guard_override"})
    assert (no_reason.status_code, error_fields(no_reason)) == (422, ["reason"])
    blank = api.post(
        "/door-events", json={"door": "main", "kind": "guard_override", "reason": "   "}
    )
    assert (blank.status_code, error_fields(blank)) == (422, ["reason"])
    assert error_fields(api.post("/door-events", json={"door": "main", "kind": "smashed"})) == [
        "kind"
    ]
    assert error_fields(
        api.post("/door-events", json={"door": "main", "kind": "pin", "visit_id": "nope"})
    ) == ["visit_id"]
    assert error_fields(
        api.post("/door-events", json={"door": "main", "kind": "pin", "occurred_at": "yesterday"})
    ) == ["occurred_at"]
    keyed = httpx.post(
        f"{server.url}/api/v1/door-events",
        json={"door": "car park", "kind": "forced"},
        headers={"Authorization": f"Bearer {server.keys['door']}"},
    )  # type: ignore[attr-defined]
    assert keyed.status_code == 201
    assert keyed.json()["guard"] is None and keyed.json()["api_key"]


# ---- incidents ------------------------------------------------------------------------------


def test_an_incident_gets_its_deadline_from_its_severity(api: httpx.Client) -> None:
    lift = {"description": "3號升降機有人被困", "location": "Lift 3", "channel": "intercom"}
    severe = incident(api, severity="severe", category="emergency", title="升降機困人", **lift)
    assert severe["status"] == "open" and severe["overdue"] is False
    assert parse_time(severe["due_at"]) - parse_time(severe["opened_at"]) == timedelta(hours=1)
    medium = incident(api)
    assert parse_time(medium["due_at"]) - parse_time(medium["opened_at"]) == timedelta(hours=24)
    assert api.get(f"/incidents/{severe['id']}").json() == {**severe, "entries": [], "photos": []}
    assert error_fields(
        api.post("/incidents", json={"category": "x", "severity": "huge", "title": "t"})
    ) == ["severity"]
    assert error_fields(
        api.post(
            "/incidents",
            json={"category": "x", "severity": "minor", "title": "t", "channel": "pigeon"},
        )
    ) == ["channel"]


def test_an_incident_past_its_deadline_is_overdue(api: httpx.Client) -> None:
    minor = incident(api, severity="minor", title="走廊燈泡壞了")

    def overdue_ids() -> list[str]:
        return [
            i["id"] for i in api.get("/incidents", params={"overdue": "true"}).json()["incidents"]
        ]

    wait_until(lambda: minor["id"] in overdue_ids(), 5, "the minor incident to fall due")
    listed = api.get("/incidents", params={"severity": "minor", "status": "open"}).json()
    assert minor["id"] in [i["id"] for i in listed["incidents"]]
    assert all(i["severity"] == "minor" for i in listed["incidents"])


def test_the_lifecycle_goes_one_step_at_a_time_and_only_a_supervisor_closes(
    api: httpx.Client, boss: httpx.Client
) -> None:
    case = incident(api, severity="minor")  # a post supervisor closes only minor ones
    path = f"/incidents/{case['id']}/status"
    for wrong in ("in_progress", "resolved", "closed", "open"):
        answer = api.post(path, json={"status": wrong})
        assert answer.status_code == 409, (wrong, answer.text)  # the state speaks first
    for step in ("acknowledged", "in_progress", "resolved"):
        answer = api.post(path, json={"status": step})
        assert (answer.status_code, answer.json()["status"]) == (200, step)
    assert api.post(path, json={"status": "acknowledged"}).status_code == 409
    assert api.post(path, json={"status": "closed"}).status_code == 403
    closed = boss.post(path, json={"status": "closed"})
    assert (closed.status_code, closed.json()["status"]) == (200, "closed")
    assert boss.post(path, json={"status": "closed"}).status_code == 409
    assert error_fields(api.post(path, json={"status": "done"})) == ["status"]
    assert api.post("/incidents/nope/status", json={"status": "acknowledged"}).status_code == 404


def test_a_complaint_closes_only_after_follow_up_and_summary(
    api: httpx.Client, boss: httpx.Client
) -> None:
    complaint = incident(
        api, category="complaint", severity="minor", title="樓上單位漏水", channel="phone"
    )
    path = f"/incidents/{complaint['id']}"
    for step in ("acknowledged", "in_progress", "resolved"):
        assert api.post(f"{path}/status", json={"status": step}).status_code == 200
    refused = boss.post(f"{path}/status", json={"status": "closed"})
    assert refused.status_code == 409
    assert "follow_up and summary" in refused.json()["detail"][0]["msg"]
    texts = {
        "note": "住戶來電投訴，已記錄要點",
        "follow_up": "已上門回訪，住戶表示滿意",
        "summary": "漏水已由維修部修妥",
    }
    for kind in ("note", "follow_up"):
        entry = api.post(f"{path}/entries", json={"kind": kind, "text": texts[kind]})
        assert entry.status_code == 201
    assert boss.post(f"{path}/status", json={"status": "closed"}).status_code == 409
    assert (
        api.post(f"{path}/entries", json={"kind": "summary", "text": texts["summary"]}).status_code
        == 201
    )
    assert boss.post(f"{path}/status", json={"status": "closed"}).status_code == 200
    entries = api.get(path).json()["entries"]
    assert [(e["kind"], e["text"], e["guard"]) for e in entries] == [
        (k, texts[k], GUARD["badge"]) for k in ("note", "follow_up", "summary")
    ]


def test_entries_name_their_field_and_their_incident(api: httpx.Client) -> None:
    case = incident(api)
    path = f"/incidents/{case['id']}/entries"
    assert error_fields(api.post(path, json={"kind": "gossip", "text": "x"})) == ["kind"]
    assert error_fields(api.post(path, json={"kind": "note"})) == ["text"]
    assert (
        api.post("/incidents/nope/entries", json={"kind": "note", "text": "x"}).status_code == 404
    )
    police = api.post(path, json={"kind": "police_called", "text": "已報警，報案編號 123"})
    assert police.status_code == 201
    assert police.json()["incident_id"] == case["id"]


# ---- shift, logbook, sync, intercom ---------------------------------------------------------


def test_the_logbook_lists_the_days_events_in_seq_order(api: httpx.Client) -> None:
    note = api.post("/shift-notes", json={"text": "交更：大堂一切正常 🌙"})
    assert note.status_code == 201
    assert note.json()["text"] == "交更：大堂一切正常 🌙"
    today = datetime.now(HK).date()
    entries = api.get("/logbook", params={"date": today.isoformat()}).json()["entries"]
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
    assert entries[-1]["type"] == "shift.note" and "交更：大堂一切正常 🌙" in entries[-1]["summary"]
    assert entries == api.get("/logbook").json()["entries"]
    assert api.get("/logbook", params={"date": "2020-01-01"}).json() == {"entries": []}
    assert error_fields(api.get("/logbook", params={"date": "soon"})) == ["date"]
    assert error_fields(api.post("/shift-notes", json={"text": ""})) == ["text"]


def test_sync_state_offline(api: httpx.Client) -> None:
    state = api.get("/sync").json()
    assert state["connected"] is False and state["acked_seq"] == 0
    assert state["backlog"] == state["last_seq"] > 0
    assert (state["site"], state["device"], state["last_ack_at"]) == (
        "harbour-view",
        "lobby-1",
        None,
    )


def test_intercom_answers_without_a_request(server: EdgeServer) -> None:
    key = {"Authorization": f"Bearer {server.keys['intercom']}"}  # type: ignore[attr-defined]
    url = f"{server.url}/api/v1/intercom/answers"
    unknown = httpx.post(url, headers=key, json={"request_id": "nope", "decision": "approve"})
    assert (unknown.status_code, error_fields(unknown)) == (404, ["request_id"])
    bad = httpx.post(url, headers=key, json={"request_id": "nope", "decision": "maybe"})
    assert (bad.status_code, error_fields(bad)) == (422, ["decision"])


def test_healthz_needs_no_login(server: EdgeServer) -> None:
    answer = httpx.get(f"{server.url}/healthz")
    assert (answer.status_code, answer.json()) == (200, {"ok": True})


def test_the_openapi_document_describes_every_contract_path(server: EdgeServer) -> None:
    paths = httpx.get(f"{server.url}/openapi.json").json()["paths"]
    for path in (
        "/api/v1/auth/login",
        "/api/v1/visits",
        "/api/v1/visits/{visit_id}",
        "/api/v1/visits/{visit_id}/checkout",
        "/api/v1/visits/{visit_id}/override",
        "/api/v1/door-events",
        "/api/v1/incidents",
        "/api/v1/incidents/{incident_id}",
        "/api/v1/incidents/{incident_id}/entries",
        "/api/v1/incidents/{incident_id}/status",
        "/api/v1/shift-notes",
        "/api/v1/logbook",
        "/api/v1/intercom/answers",
        "/api/v1/sync",
        "/healthz",
    ):
        assert path in paths, path


# ---- login ----------------------------------------------------------------------------------


def test_login_answers_the_guard_and_refuses_a_wrong_pin(server: EdgeServer) -> None:
    url = f"{server.url}/api/v1/auth/login"
    answer = httpx.post(url, json={"badge": SUPERVISOR["badge"], "pin": SUPERVISOR["pin"]})
    assert answer.status_code == 200
    body = answer.json()
    assert body["guard"] == {
        "badge": SUPERVISOR["badge"],
        "name": SUPERVISOR["name"],
        "role": "supervisor",
    }
    assert parse_time(body["expires_at"]) > datetime.now(HK) + timedelta(hours=11)
    wrong = httpx.post(url, json={"badge": SUPERVISOR["badge"], "pin": "0000"})
    assert wrong.status_code == 401
    assert httpx.post(url, json={"badge": "nobody", "pin": "1234"}).status_code == 401
    assert error_fields(httpx.post(url, json={"badge": "x"})) == ["pin"]


def test_five_wrong_pins_lock_the_badge_even_across_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "post"
    init_post(data)
    edge = EdgeServer(data).start()
    url = f"{edge.url}/api/v1/auth/login"
    try:
        codes = [
            httpx.post(url, json={"badge": GUARD["badge"], "pin": "0000"}).status_code
            for _ in range(5)
        ]
        assert codes == [401] * 5
        right = {"badge": GUARD["badge"], "pin": GUARD["pin"]}
        assert httpx.post(url, json=right).status_code == 429
        # another badge is not affected
        assert (
            httpx.post(
                url, json={"badge": SUPERVISOR["badge"], "pin": SUPERVISOR["pin"]}
            ).status_code
            == 200
        )
        edge.stop()
        edge.start()
        assert httpx.post(f"{edge.url}/api/v1/auth/login", json=right).status_code == 429
    finally:
        edge.stop()
