"""Nobody gets in where they don't belong: every /api/v1 path against no token, a made-up
token, a logged-out token, an expired token, the wrong key scope and the wrong role. A refused
request writes nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.helpers import GUARD, SUPERVISOR, EdgeServer, init_post, wait_until


@dataclass
class Post:
    server: EdgeServer
    guard: str
    supervisor: str
    door_key: str
    intercom_key: str
    visit_id: str
    incident_id: str

    def call(self, method: str, path: str, token: str | None, body: Any = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.request(
            method, f"{self.server.url}/api/v1{path}", headers=headers, json=body, timeout=30
        )

    def seqs(self) -> list[int]:
        answer = self.call("GET", "/logbook", self.guard)
        return [e["seq"] for e in answer.json()["entries"]]


@pytest.fixture(scope="module")
def post(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Post]:
    data = tmp_path_factory.mktemp("authz") / "post"
    keys = init_post(data)
    server = EdgeServer(data).start()
    try:
        guard = server.login(GUARD)
        headers = {"Authorization": f"Bearer {guard}"}
        visit = httpx.post(
            f"{server.url}/api/v1/visits",
            headers=headers,
            json={"visitor_name": "x", "unit": "12A", "category": "guest"},
        ).json()
        incident = httpx.post(
            f"{server.url}/api/v1/incidents",
            headers=headers,
            json={"category": "security", "severity": "minor", "title": "t"},
        ).json()
        yield Post(
            server,
            guard,
            server.login(SUPERVISOR),
            keys["door"],
            keys["intercom"],
            visit["id"],
            incident["id"],
        )
    finally:
        server.stop()


def every_path(post: Post) -> list[tuple[str, str, Any]]:
    """(method, path, a valid body) for every authenticated path of the contract."""
    return [
        ("POST", "/visits", {"visitor_name": "y", "unit": "12A", "category": "guest"}),
        ("GET", "/visits", None),
        ("GET", f"/visits/{post.visit_id}", None),
        ("POST", f"/visits/{post.visit_id}/checkout", {}),
        ("POST", f"/visits/{post.visit_id}/override", {"reason": "known resident"}),
        ("POST", "/door-events", {"door": "main", "kind": "pin"}),
        ("POST", "/incidents", {"category": "x", "severity": "minor", "title": "t"}),
        ("GET", "/incidents", None),
        ("GET", f"/incidents/{post.incident_id}", None),
        ("POST", f"/incidents/{post.incident_id}/entries", {"kind": "note", "text": "t"}),
        ("POST", f"/incidents/{post.incident_id}/status", {"status": "acknowledged"}),
        ("POST", "/shift-notes", {"text": "t"}),
        ("GET", "/logbook", None),
        ("GET", "/units", None),
        ("POST", "/intercom/answers", {"request_id": "r", "decision": "approve"}),
        (
            "POST",
            "/intercom/preapprovals",
            {"unit": "12A", "valid_until": "2099-01-01T00:00:00+00:00"},
        ),
        ("GET", "/sync", None),
        ("POST", "/auth/logout", None),
        ("POST", f"/guards/{GUARD['badge']}/revoke-sessions", None),
    ]


def test_no_token_or_a_made_up_one_is_401_and_writes_nothing(post: Post) -> None:
    before = post.seqs()
    for method, path, body in every_path(post):
        for token in (None, "made-up-token", "gpk_made-up-key", post.guard + "x"):
            answer = post.call(method, path, token, body)
            assert answer.status_code == 401, (method, path, token, answer.text)
            assert answer.json()["detail"][0]["loc"] == ["header", "Authorization"]
    assert post.seqs() == before


def test_a_door_key_may_only_post_door_events(post: Post) -> None:
    before = post.seqs()
    for method, path, body in every_path(post):
        if path == "/door-events":
            continue
        answer = post.call(method, path, post.door_key, body)
        assert answer.status_code == 403, (method, path, answer.text)
    assert post.seqs() == before
    allowed = post.call("POST", "/door-events", post.door_key, {"door": "car park", "kind": "pin"})
    assert allowed.status_code == 201
    assert post.seqs() == [*before, before[-1] + 1]


def test_an_intercom_key_may_only_answer_and_preapprove(post: Post) -> None:
    before = post.seqs()
    # answers: allowed, but there is no such request; a pre-approval is one new event
    expected = {"/intercom/answers": 404, "/intercom/preapprovals": 201}
    for method, path, body in every_path(post):
        answer = post.call(method, path, post.intercom_key, body)
        assert answer.status_code == expected.get(path, 403), (method, path, answer.text)
    assert post.seqs() == [*before, before[-1] + 1]


def test_a_guard_may_not_answer_for_a_resident_or_act_as_supervisor(post: Post) -> None:
    before = post.seqs()
    answer = post.call(
        "POST", "/intercom/answers", post.guard, {"request_id": "r", "decision": "approve"}
    )
    assert answer.status_code == 403
    code = post.call(
        "POST",
        "/intercom/preapprovals",
        post.guard,
        {"unit": "12A", "valid_until": "2099-01-01T00:00:00+00:00"},
    )
    assert code.status_code == 403
    revoke = post.call("POST", f"/guards/{SUPERVISOR['badge']}/revoke-sessions", post.guard)
    assert revoke.status_code == 403
    assert post.call("GET", "/sync", post.supervisor).status_code == 200
    assert post.seqs() == before


def test_logout_ends_the_session_on_the_server(post: Post) -> None:
    token = post.server.login(GUARD)
    assert post.call("GET", "/sync", token).status_code == 200
    assert post.call("POST", "/auth/logout", token).status_code == 204
    before = post.seqs()
    for method, path, body in every_path(post):
        assert post.call(method, path, token, body).status_code == 401, path
    assert post.seqs() == before
    assert post.call("GET", "/sync", post.guard).status_code == 200  # other sessions live on


def test_a_supervisor_revokes_every_session_of_a_guard(post: Post) -> None:
    tablet, phone = post.server.login(GUARD), post.server.login(GUARD)
    revoked = post.call("POST", f"/guards/{GUARD['badge']}/revoke-sessions", post.supervisor)
    assert revoked.status_code == 200 and revoked.json()["revoked"] >= 2
    for token in (tablet, phone):
        assert post.call("GET", "/visits", token).status_code == 401
    assert post.call("POST", "/guards/nobody/revoke-sessions", post.supervisor).status_code == 404
    post.guard = post.server.login(GUARD)  # the guard logs in again
    assert post.call("GET", "/visits", post.guard).status_code == 200


def test_an_expired_session_is_401(tmp_path_factory: pytest.TempPathFactory) -> None:
    data = tmp_path_factory.mktemp("expiry") / "post"
    init_post(data)
    server = EdgeServer(data, env={"GUARDPOST_SESSION_HOURS": "0.0005"}).start()  # 1.8 s
    try:
        token = server.login(GUARD)
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{server.url}/api/v1/sync", headers=headers).status_code == 200
        started = time.monotonic()
        wait_until(
            lambda: httpx.get(f"{server.url}/api/v1/sync", headers=headers).status_code == 401,
            10,
            "expiry",
        )
        assert time.monotonic() - started > 0.5
        answer = httpx.post(
            f"{server.url}/api/v1/shift-notes", headers=headers, json={"text": "late"}
        )
        assert answer.status_code == 401
    finally:
        server.stop()
