"""`POST /api/v1/visits` by a guard is served beside FastAPI (`edge/api_fast.py`): its answers,
201s and refusals alike, are the ones the FastAPI route gives, through a real server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.helpers import GUARD, EdgeServer, error_fields

VISIT = {"visitor_name": "陳大文", "unit": "12A", "category": "guest", "id_number": "A1234567(8)"}
# a JSON type FastAPI reads as JSON and the fast path leaves to it: the route's own answer
ROUTE_TYPE = "application/vnd.guardpost+json"


@pytest.fixture(scope="module")
def server(shared_post: EdgeServer) -> EdgeServer:
    return shared_post


@pytest.fixture(scope="module")
def api(server: EdgeServer) -> Iterator[httpx.Client]:
    with server.client(server.login(GUARD)) as client:
        yield client


def post(api: httpx.Client, body: Any, content_type: str = "application/json") -> httpx.Response:
    content = body if isinstance(body, bytes) else httpx.Request("POST", "/", json=body).content
    return api.post("/visits", content=content, headers={"Content-Type": content_type})


def test_a_visit_is_answered_as_the_route_answers_it(api: httpx.Client) -> None:
    fast, routed = post(api, VISIT), post(api, VISIT, ROUTE_TYPE)
    assert fast.status_code == routed.status_code == 201, (fast.text, routed.text)
    same = {"id", "checked_in_at"}
    assert {k: v for k, v in fast.json().items() if k not in same} == {
        k: v for k, v in routed.json().items() if k not in same
    }
    assert fast.json()["id_number_masked"] == "A****567(8)"
    assert "A1234567" not in fast.text
    assert [h for h in fast.headers if h != "date"] == [h for h in routed.headers if h != "date"]
    assert fast.headers["content-type"] == "application/json"
    assert fast.headers["x-content-type-options"] == "nosniff"
    # the answer is the stored visit
    assert api.get(f"/visits/{fast.json()['id']}").json() == fast.json()
    assert post(api, VISIT, "application/json; charset=utf-8").status_code == 201


@pytest.mark.parametrize(
    ("body", "content_type", "field"),
    [
        ({"unit": "12A", "category": "guest"}, "application/json", "visitor_name"),
        ({**VISIT, "party_size": "2"}, "application/json", "party_size"),
        ({**VISIT, "category": "friend"}, "application/json", "category"),
        ({**VISIT, "unit": "99Z"}, "application/json", "unit"),
        ({**VISIT, "visitor_name": "  "}, "application/json", "visitor_name"),
        ([VISIT], "application/json", "body"),
    ],
)
def test_refusals_name_the_field_as_fastapi_does(
    api: httpx.Client, body: Any, content_type: str, field: str
) -> None:
    fast, routed = post(api, body, content_type), post(api, body, ROUTE_TYPE)
    assert fast.status_code == routed.status_code == 422, fast.text
    assert fast.json() == routed.json()
    assert error_fields(fast) == [field]


def test_what_is_not_the_plain_case_goes_to_fastapi(api: httpx.Client, server: EdgeServer) -> None:
    broken = post(api, b'{"visitor_name": "x", ')
    assert broken.status_code == 422
    assert broken.json()["detail"][0]["type"] == "json_invalid"
    assert post(api, VISIT, "text/plain").status_code == 422
    key = server.keys["door"]  # type: ignore[attr-defined]
    refused = httpx.post(
        f"{server.url}/api/v1/visits", json=VISIT, headers={"Authorization": f"Bearer {key}"}
    )
    assert refused.status_code == 403
    assert httpx.post(f"{server.url}/api/v1/visits", json=VISIT).status_code == 401
