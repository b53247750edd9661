"""Resident confirmation through the intercom (CONTRACT 5), pre-approval codes and door
controllers, against a real edge server and the gateway simulator over HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import EdgeServer, GatewaySim, error_fields, init_post, intercom_args, wait_until

SECRET = "webhook-secret-1"
ID_NUMBER = "A1234567(8)"
VISITOR = {
    "visitor_name": "陳小明",
    "unit": "12A",
    "category": "guest",
    "id_number": ID_NUMBER,
    "party_size": 2,
}


class Lobby:
    """A post wired to a gateway simulator: the guard's client and the gateway."""

    def __init__(
        self,
        data: Path,
        keys: dict[str, str],
        gateway: GatewaySim,
        timeout_s: float,
        secret: str = SECRET,
    ) -> None:
        self.data, self.keys, self.gateway = data, keys, gateway
        self.edge = EdgeServer(
            data,
            extra_args=intercom_args(gateway.webhook, secret, timeout_s),
        )

    def start(self) -> Lobby:
        self.edge.start()
        self.api = self.edge.client(self.edge.login())
        return self

    def stop(self) -> None:
        self.api.close()
        self.edge.stop()

    def register(self, **changes: Any) -> dict[str, Any]:
        answer = self.api.post("/visits", json={**VISITOR, **changes})
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def confirmation(self, visit_id: str) -> str:
        return str(self.api.get(f"/visits/{visit_id}").json()["confirmation"]["status"])

    def settles(self, visit_id: str, timeout_s: float = 15) -> str:
        return wait_until(
            lambda: (s := self.confirmation(visit_id)) != "pending" and s,
            timeout_s,
            "the confirmation to leave pending",
        )

    def answer(self, request_id: str, decision: str = "approve") -> httpx.Response:
        return httpx.post(
            f"{self.edge.url}/api/v1/intercom/answers",
            json={"request_id": request_id, "decision": decision},
            headers={"Authorization": f"Bearer {self.keys['intercom']}"},
            timeout=10,
        )


@pytest.fixture
def lobby_parts(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str], list[Any]]]:
    data = tmp_path / "post"
    keys = init_post(data)
    started: list[Any] = []
    try:
        yield data, keys, started
    finally:
        for thing in reversed(started):
            thing.close() if isinstance(thing, httpx.Client) else thing.stop()


def lobby(
    parts: tuple[Path, dict[str, str], list[Any]],
    timeout_s: float = 30,
    *,
    secret: str = SECRET,
    start_gateway: bool = True,
    **gateway: Any,
) -> Lobby:
    data, keys, started = parts
    sim = GatewaySim(gateway.pop("gateway_secret", SECRET), keys["intercom"], **gateway)
    if start_gateway:
        started.append(sim.start())
    post = Lobby(data, keys, sim, timeout_s, secret).start()
    started.append(post)
    return post


def test_approve_rings_the_flat_once_and_logs_the_release(lobby_parts: Any) -> None:
    post = lobby(lobby_parts, after_s=0.3)
    visit = post.register()
    assert visit["confirmation"]["status"] == "pending"
    request_id = visit["confirmation"]["request_id"]
    assert post.settles(visit["id"]) == "approved"

    [got] = post.gateway.received()
    assert got["signature_ok"] is True and got["status"] == 200 and got["answer"] == 200
    body = got["body"]
    assert set(body) == {
        "request_id",
        "unit",
        "intercom",
        "visitor_name",
        "category",
        "party_size",
        "expires_at",
        "callback",
    }
    assert body["request_id"] == request_id
    assert (
        body["unit"],
        body["intercom"],
        body["visitor_name"],
        body["category"],
        body["party_size"],
    ) == ("12A", "1201", "陳小明", "guest", 2)
    assert body["callback"] == f"{post.edge.url}/api/v1/intercom/answers"
    assert "1234567" not in json.dumps(got) and "A****567(8)" not in json.dumps(got)

    seen = post.api.get(f"/visits/{visit['id']}").json()["confirmation"]
    assert seen["request_id"] == request_id and seen["answered_at"] is not None
    kinds = [e["summary"] for e in post.api.get("/logbook").json()["entries"]]
    assert kinds[-2:] == ["Resident confirmation: approved", "Door lobby: intercom_release"]
    again = post.answer(request_id, "deny")
    assert again.status_code == 409 and error_fields(again) == ["request_id"]
    assert post.confirmation(visit["id"]) == "approved"


def test_deny_opens_nothing(lobby_parts: Any) -> None:
    post = lobby(lobby_parts, mode="deny", after_s=0.1)
    visit = post.register()
    assert post.settles(visit["id"]) == "denied"
    summaries = [e["summary"] for e in post.api.get("/logbook").json()["entries"]]
    assert summaries[-1] == "Resident confirmation: denied"
    assert not any("intercom_release" in s for s in summaries)


def test_a_unit_without_intercom_needs_no_confirmation(lobby_parts: Any) -> None:
    post = lobby(lobby_parts)
    visit = post.register(unit="12B")
    assert visit["confirmation"] == {
        "status": "not_required",
        "request_id": None,
        "answered_at": None,
    }
    time.sleep(0.5)
    assert post.gateway.received() == []


def test_a_wrong_secret_is_caught_by_the_gateway_and_the_request_expires(lobby_parts: Any) -> None:
    post = lobby(lobby_parts, timeout_s=3, gateway_secret="another-secret")
    visit = post.register()
    assert post.settles(visit["id"]) == "no_answer"
    received = post.gateway.received()
    assert len(received) >= 2  # it kept trying with backoff until expiry
    assert all(r["signature_ok"] is False and r["status"] == 401 for r in received)
    late = post.answer(visit["confirmation"]["request_id"])
    assert late.status_code == 409


def test_a_gateway_that_is_down_is_retried_and_gets_the_request_once(lobby_parts: Any) -> None:
    post = lobby(lobby_parts, fail=2, after_s=0.1)
    visit = post.register()
    assert post.settles(visit["id"]) == "approved"
    received = post.gateway.received()
    assert [r["status"] for r in received] == [503, 503, 200]
    assert {r["request_id"] for r in received} == {visit["confirmation"]["request_id"]}
    assert len({json.dumps(r["body"], sort_keys=True) for r in received}) == 1  # same bytes


def test_registration_never_waits_for_a_gateway_that_is_not_there(lobby_parts: Any) -> None:
    post = lobby(lobby_parts, timeout_s=2, start_gateway=False)
    started = time.monotonic()
    visits = [post.register(visitor_name=f"Visitor {n}") for n in range(5)]
    assert time.monotonic() - started < 5  # 201s come back whether or not anyone listens
    assert {v["confirmation"]["status"] for v in visits} == {"pending"}
    assert {post.settles(v["id"]) for v in visits} == {"no_answer"}


def test_pending_requests_survive_a_kill_and_are_delivered_after_restart(lobby_parts: Any) -> None:
    post = lobby(lobby_parts, timeout_s=60, start_gateway=False, after_s=0.1)
    visit = post.register()
    time.sleep(1.5)  # it tried and failed: nobody listens yet
    post.edge.kill9()
    lobby_parts[2].append(post.gateway.start())
    post.edge.start()
    assert post.settles(visit["id"]) == "approved"
    assert [r["status"] for r in post.gateway.received()] == [200]


def test_a_request_that_expired_while_the_post_was_down_is_closed_at_restart(
    lobby_parts: Any,
) -> None:
    post = lobby(lobby_parts, timeout_s=2, start_gateway=False)
    visit = post.register()
    post.edge.kill9()
    time.sleep(2.5)
    lobby_parts[2].append(post.gateway.start())
    post.edge.start()
    assert post.settles(visit["id"], timeout_s=5) == "no_answer"
    time.sleep(0.5)
    assert post.gateway.received() == []  # nobody is rung for a visitor who waited in vain


def test_no_answer_then_the_guard_overrides_with_a_reason(lobby_parts: Any) -> None:
    post = lobby(lobby_parts, timeout_s=2, mode="never")
    visit = post.register()
    assert post.settles(visit["id"]) == "no_answer"
    assert post.answer(visit["confirmation"]["request_id"]).status_code == 409
    missing = post.api.post(f"/visits/{visit['id']}/override", json={"reason": " "})
    assert missing.status_code == 422 and error_fields(missing) == ["reason"]
    done = post.api.post(
        f"/visits/{visit['id']}/override", json={"reason": "resident phoned the desk"}
    )
    assert done.status_code == 200 and done.json()["confirmation"]["status"] == "overridden"
    twice = post.api.post(f"/visits/{visit['id']}/override", json={"reason": "again"})
    assert twice.status_code == 409
    summaries = [e["summary"] for e in post.api.get("/logbook").json()["entries"]]
    assert summaries[-3:] == [
        "Resident confirmation: no_answer",
        "Resident confirmation: overridden (resident phoned the desk)",
        "Door lobby: guard_override (resident phoned the desk)",
    ]


def test_an_override_while_pending_stops_the_ringing(lobby_parts: Any) -> None:
    post = lobby(lobby_parts, timeout_s=30, start_gateway=False)
    visit = post.register()
    done = post.api.post(f"/visits/{visit['id']}/override", json={"reason": "known visitor"})
    assert done.json()["confirmation"]["status"] == "overridden"
    lobby_parts[2].append(post.gateway.start())
    time.sleep(2.5)
    assert post.gateway.received() == []
    late = post.answer(visit["confirmation"]["request_id"])
    assert late.status_code == 409


# ---- residents' pre-approvals -----------------------------------------------------------------


def test_preapproval_codes(lobby_parts: Any) -> None:
    post = lobby(lobby_parts, mode="never")
    intercom = httpx.Client(
        base_url=f"{post.edge.url}/api/v1",
        timeout=10,
        headers={"Authorization": f"Bearer {post.keys['intercom']}"},
    )
    lobby_parts[2].append(intercom)  # closed at the end
    soon = datetime.now(UTC) + timedelta(hours=2)
    made = intercom.post(
        "/intercom/preapprovals",
        json={"unit": "12a", "visitor_name": "Plumber Lau", "valid_until": soon.isoformat()},
    )
    assert made.status_code == 201, made.text
    code = made.json()["code"]
    assert len(code) == 6 and code.isdigit() and made.json()["unit"] == "12A"

    def refused(**changes: Any) -> list[Any]:
        before = len(post.api.get("/visits").json()["visits"])
        answer = post.api.post("/visits", json={**VISITOR, **changes})
        assert answer.status_code == 422, answer.text
        assert len(post.api.get("/visits").json()["visits"]) == before  # nothing half-written
        return [d["msg"] for d in answer.json()["detail"] if d["loc"][-1] == "preapproval_code"]

    assert refused(unit="3C", preapproval_code=code) == ["the code is for another unit"]
    assert refused(preapproval_code="000000" if code != "000000" else "111111") == ["unknown code"]
    visit = post.register(preapproval_code=code)
    assert visit["confirmation"]["status"] == "approved"
    assert visit["confirmation"]["request_id"] is None
    assert refused(preapproval_code=code) == ["the code was already used"]

    brief = intercom.post(
        "/intercom/preapprovals",
        json={
            "unit": "3C",
            "code": "4321",
            "valid_until": (datetime.now(UTC) + timedelta(seconds=1)).isoformat(),
        },
    )
    assert brief.status_code == 201 and brief.json()["code"] == "4321"
    time.sleep(1.2)
    assert refused(unit="3C", preapproval_code="4321") == ["the code has expired"]

    past = intercom.post(
        "/intercom/preapprovals", json={"unit": "3C", "valid_until": "2020-01-01T00:00:00+00:00"}
    )
    assert past.status_code == 422 and error_fields(past) == ["valid_until"]
    nowhere = intercom.post(
        "/intercom/preapprovals", json={"unit": "99Z", "valid_until": soon.isoformat()}
    )
    assert nowhere.status_code == 422 and error_fields(nowhere) == ["unit"]
    time.sleep(0.5)
    assert post.gateway.received() == []  # a pre-approved visit never rings the flat
    summaries = [e["summary"] for e in post.api.get("/logbook").json()["entries"]]
    assert "pre-approved by the resident" in summaries[-2]


# ---- door controllers -------------------------------------------------------------------------


def test_forced_and_long_held_open_doors_open_incidents(tmp_path: Path) -> None:
    data = tmp_path / "post"
    keys = init_post(data)
    edge = EdgeServer(
        data, env={"GUARDPOST_DOOR_HELD_OPEN_S": "60", "GUARDPOST_DOOR_HELD_OPEN_SEVERITY": "minor"}
    ).start()
    try:
        door = httpx.Client(
            base_url=f"{edge.url}/api/v1",
            timeout=10,
            headers={"Authorization": f"Bearer {keys['door']}"},
        )
        guard = edge.client(edge.login())
        forced = door.post("/door-events", json={"door": "car park", "kind": "forced"})
        short = door.post(
            "/door-events", json={"door": "lobby", "kind": "held_open", "duration_s": 30}
        )
        long = door.post(
            "/door-events", json={"door": "lobby", "kind": "held_open", "duration_s": 95}
        )
        assert [a.status_code for a in (forced, short, long)] == [201, 201, 201]
        assert short.json()["incident_id"] is None
        incidents = {i["id"]: i for i in guard.get("/incidents").json()["incidents"]}
        opened = [incidents[forced.json()["incident_id"]], incidents[long.json()["incident_id"]]]
        assert [(i["category"], i["severity"], i["title"], i["status"]) for i in opened] == [
            ("security", "severe", "Door car park: forced", "open"),
            ("security", "minor", "Door lobby: held_open", "open"),
        ]
        assert len(incidents) == 2
        bad = door.post(
            "/door-events", json={"door": "lobby", "kind": "held_open", "duration_s": -1}
        )
        assert bad.status_code == 422 and error_fields(bad) == ["duration_s"]
        door.close()
        guard.close()
    finally:
        edge.stop()
