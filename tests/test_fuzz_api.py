"""Schemathesis against both OpenAPI documents, each served by a real server: every operation
of the post's and the hub's `/api/v1` with generated valid and invalid bodies, queries and
paths, authorised (a supervisor's token at the post, its intercom key on the intercom paths; a
manager's token at the hub), seeded, a few hundred cases per service. Every built-in check runs
(`--checks all`: status codes, content types, response schemas, headers, auth, methods, ...)
except the response-time limit, with the statuses the contract allows for valid and invalid
input (CHECKS); the one that must hold everywhere is `not_a_server_error`: no input gets a 5xx.

(schemathesis' pytest plugin cannot load a schema from a fixture under pytest 9, so each
operation's strategies are driven by Hypothesis here, as its plugin would.)"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.bodies import BAD_DAYS
from tests.helpers import MANAGER, SUPERVISOR, EdgeServer, HubServer, cases_as_requests

# x 21 operations at the post, 18 at the hub: a few hundred each; more for a soak, e.g.
# FUZZ_EXAMPLES=200 FUZZ_SEED=7 pytest tests/test_fuzz_api.py
EXAMPLES_PER_OPERATION = int(os.environ.get("FUZZ_EXAMPLES", "12"))
SEED = int(os.environ.get("FUZZ_SEED", "1212"))

# The contract's answers to schema-valid input that is still wrong for this post's data: an
# unknown id (404), a record's state (409), an unknown unit or a door override without a
# reason (422), a role or key that may not (403), a locked badge (429), a full disk (507).
ALLOWED_FOR_VALID_INPUT = [200, 201, 204, 401, 403, 404, 409, 422, 429, 507]
# Refusals of invalid input: any 4xx the contract names.
ALLOWED_FOR_INVALID_INPUT = [400, 401, 403, 404, 405, 409, 413, 422, 429]

CHECKS = {
    "positive_data_acceptance": {"expected-statuses": ALLOWED_FOR_VALID_INPUT},
    "negative_data_rejection": {"expected-statuses": ALLOWED_FOR_INVALID_INPUT},
}


# Values that broke the services before (issue 12), mixed into what is generated (each named
# field gets one of them a third of the time, any other string a tenth), so that each run
# tries dates and times at the edges and text with a NUL or in other digits.
DAYS = [*BAD_DAYS, "-8.5e-271", "2000-01-01", "2100-12-31"]
TIMES = [
    "2026-11-22T15:04:05",
    "2026-11-22 15:04:05",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-12:00",
    "2026-11-22T15:04:05+08:00",
    "1700000000",
]
TEXTS = ["\x00", "ab\x00cd", "³", "٣", "9" * 5000, "字" * 3000, "\u202e\u200b", *DAYS[:2]]
DICTIONARIES = {"days": DAYS, "times": TIMES, "texts": TEXTS}
BINDINGS = {
    **{f"query.{name}": "days" for name in ("date", "date_from", "date_to")},
    **{f"body.{name}": "times" for name in ("occurred_at", "valid_from", "valid_until")},
    "query.q": "texts",
}


def config() -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "checks": CHECKS,
            "dictionaries": {name: {"values": values} for name, values in DICTIONARIES.items()},
            "parameters": {
                key: {"dictionary": name, "probability": 0.34} for key, name in BINDINGS.items()
            },
            "generation": {"dictionaries": {"string": {"dictionary": "texts", "probability": 0.1}}},
        }
    )


def fuzz(
    capsys: pytest.CaptureFixture[str],
    name: str,
    url: str,
    headers_for: Callable[[str], dict[str, str]],
) -> None:
    """Every operation of the service's OpenAPI document: EXAMPLES_PER_OPERATION cases, valid
    and invalid mixed, each sent to the real server and checked; all failures are reported
    together at the end, with the case that shows each."""
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json", config=config())
    counts: Counter[str] = Counter()
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        try:
            sender(operation, url, headers_for, counts)()
        except (Exception, BaseExceptionGroup) as exc:  # every operation runs; all are shown
            failures.append(f"{operation.label}: {exc}")
    with capsys.disabled():  # the counts go on the terminal, also under -q
        print(
            f"\nschemathesis {name}: {sum(counts.values())} cases over {len(counts)} "
            f"operations, seed {SEED}, {len(failures)} failing"
        )
    assert failures == [], "\n\n".join(failures)
    assert len(counts) >= 15 and sum(counts.values()) >= 15 * EXAMPLES_PER_OPERATION // 2


def sender(
    operation: Any, url: str, headers_for: Callable[[str], dict[str, str]], counts: Counter[str]
) -> Callable[[], None]:
    """A Hypothesis test of one operation: valid and invalid cases mixed, each one request."""
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @cases_as_requests(EXAMPLES_PER_OPERATION, SEED)
    @given(case=strategy)
    def send(case: Any) -> None:
        counts[operation.label] += 1
        case.call_and_validate(base_url=url, headers=headers_for(operation.path))

    return send  # type: ignore[no-any-return]


# ---- the post --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def post(shared_post: EdgeServer) -> EdgeServer:
    return shared_post


def test_no_input_gets_a_5xx_at_the_post(
    post: EdgeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    token = post.login(SUPERVISOR)

    def headers_for(path: str) -> dict[str, str]:
        """The intercom key on the intercom paths, a fresh session for logout (the fuzzing
        must not end its own), the supervisor's token everywhere else."""
        if path.startswith("/api/v1/intercom/"):
            return {"Authorization": f"Bearer {post.keys['intercom']}"}  # type: ignore[attr-defined]
        if path == "/api/v1/auth/logout":
            return {"Authorization": f"Bearer {post.login(SUPERVISOR)}"}
        return {"Authorization": f"Bearer {token}"}

    fuzz(capsys, "post", post.url, headers_for)


# ---- the hub ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hub(shared_hub: HubServer) -> HubServer:
    return shared_hub


def hub_login(hub: HubServer) -> str:
    answer = httpx.post(f"{hub.url}/api/v1/auth/login", json=MANAGER, timeout=30)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["token"])


def test_no_input_gets_a_5xx_at_the_hub(hub: HubServer, capsys: pytest.CaptureFixture[str]) -> None:
    token = hub_login(hub)

    def headers_for(path: str) -> dict[str, str]:
        """A fresh session for logout (the fuzzing must not end its own), else the manager's."""
        fresh = path == "/api/v1/auth/logout"
        return {"Authorization": f"Bearer {hub_login(hub) if fresh else token}"}

    fuzz(capsys, "hub", hub.url, headers_for)
