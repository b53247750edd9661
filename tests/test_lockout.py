"""The lockout holds under a crowd: 60 wrong logins at once for one badge (or hub user) check
at most 5 PINs; the rest are 429, and so is the right PIN until the window passes."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.helpers import GUARD, MANAGER, EdgeServer, HubServer, init_hub, running

CROWD = 60


def crowd_statuses(url: str, body: dict[str, str]) -> Counter[int]:
    """POST `body` to `url` from CROWD threads released together; how many of each status."""
    with (
        httpx.Client(timeout=120, limits=httpx.Limits(max_connections=CROWD)) as client,
        ThreadPoolExecutor(CROWD) as pool,
    ):
        answers = list(pool.map(lambda _: client.post(url, json=body).status_code, range(CROWD)))
    return Counter(answers)


def test_sixty_logins_at_once_check_at_most_five_pins_at_the_post(edge: EdgeServer) -> None:
    url = f"{edge.url}/api/v1/auth/login"
    wrong = {"badge": GUARD["badge"], "pin": "99999999"}
    assert crowd_statuses(url, wrong) == Counter({401: 5, 429: CROWD - 5})
    right = {"badge": GUARD["badge"], "pin": GUARD["pin"]}
    answer = httpx.post(url, json=right, timeout=30)
    assert (answer.status_code, answer.json()["detail"][0]["loc"]) == (429, ["body", "badge"])


def test_sixty_logins_at_once_check_at_most_five_passwords_at_the_hub(tmp_path: Path) -> None:
    init_hub(tmp_path / "hub")
    with running(HubServer(tmp_path / "hub")) as hub:
        url = f"{hub.url}/api/v1/auth/login"
        wrong = {"username": MANAGER["username"], "password": "not-the-password"}
        assert crowd_statuses(url, wrong) == Counter({401: 5, 429: CROWD - 5})
        answer = httpx.post(url, json=MANAGER, timeout=30)
        assert (answer.status_code, answer.json()["detail"][0]["loc"]) == (
            429,
            ["body", "username"],
        )


def test_the_login_page_counts_the_same_way(edge: EdgeServer) -> None:
    """The tablet's form shares the API's count: 60 wrong PINs typed at once, 5 checked."""
    with (
        httpx.Client(timeout=120, limits=httpx.Limits(max_connections=CROWD)) as client,
        ThreadPoolExecutor(CROWD) as pool,
    ):
        statuses = Counter(
            pool.map(
                lambda _: (
                    client.post(
                        f"{edge.url}/login", data={"badge": GUARD["badge"], "pin": "0000"}
                    ).status_code
                ),
                range(CROWD),
            )
        )
    assert statuses == Counter({401: 5, 429: CROWD - 5})
