"""scripts/adapter_2n.py between a real post and a fake 2N intercom that speaks 2N's HTTP API:
the resident's release, keys 1 and 2, hanging up and not picking up become the post's
approve, deny and no_answer."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fake_2n import Fake2N
from tests.helpers import EdgeServer, free_port, init_post, intercom_args, start_script, wait_until

SECRET = "adapter-secret"


class Building:
    """A post whose webhook is the 2N adapter, which drives a fake 2N intercom."""

    def __init__(self, data: Path, keys: dict[str, str], confirm_timeout_s: float) -> None:
        self.intercom = Fake2N().start()
        self.adapter_port = free_port()
        self.adapter = start_script(
            "adapter_2n.py",
            self.adapter_port,
            *("--secret", SECRET, "--key", keys["intercom"], "--intercom", self.intercom.url),
            *("--user", "guardpost", "--password", "2n-pass"),
        )
        self.edge = EdgeServer(
            data,
            extra_args=intercom_args(
                f"http://127.0.0.1:{self.adapter_port}/webhook", SECRET, confirm_timeout_s
            ),
        ).start()
        self.api = self.edge.client(self.edge.login())

    def stop(self) -> None:
        self.api.close()
        self.edge.stop()
        self.adapter.terminate()
        self.adapter.wait(timeout=10)
        self.intercom.stop()

    def visitor_rings(self, unit: str = "12A", number: str = "1201") -> tuple[str, int]:
        """Register a visitor; the flat's indoor unit rings. (visit id, call session)"""
        visit = self.api.post(
            "/visits",
            json={
                "visitor_name": "陳小明",
                "unit": unit,
                "category": "guest",
                "id_number": "A1234567(8)",
            },
        ).json()
        assert visit["confirmation"]["status"] == "pending"
        dial = wait_until(
            lambda: next((d for d in self.intercom.dials if d["number"] == number), None),
            10,
            "a dial",
        )
        return visit["id"], int(dial["session"])

    def status(self, visit_id: str) -> str:
        return str(self.api.get(f"/visits/{visit_id}").json()["confirmation"]["status"])

    def settles(self, visit_id: str) -> str:
        return wait_until(
            lambda: (s := self.status(visit_id)) != "pending" and s,
            15,
            "the resident's answer to reach the post",
        )


@pytest.fixture
def building(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Building]:
    data = tmp_path / "post"
    timeout_s = getattr(request, "param", 30)
    place = Building(data, init_post(data), timeout_s)
    try:
        yield place
    finally:
        place.stop()


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("answer_and_release", "approved"),
        ("answer_and_press_1", "approved"),
        ("answer_and_press_2", "denied"),
        ("answer_and_hang_up", "denied"),
    ],
)
def test_what_the_resident_does_becomes_the_posts_answer(
    building: Building, action: str, expected: str
) -> None:
    visit_id, session = building.visitor_rings()
    building.intercom.resident(session, action)
    assert building.settles(visit_id) == expected
    summaries = [e["summary"] for e in building.api.get("/logbook").json()["entries"]]
    releases = [s for s in summaries if s == "Door lobby: intercom_release"]
    assert len(releases) == (1 if expected == "approved" else 0)
    # key 1 opens the door through the intercom's switch; a release from the flat already did
    assert len(building.intercom.triggers) == (1 if action == "answer_and_press_1" else 0)
    assert not any("1234567" in url for url in building.intercom.requests)


@pytest.mark.parametrize("building", [3], indirect=True)
def test_nobody_picks_up_and_the_post_says_no_answer(building: Building) -> None:
    visit_id, session = building.visitor_rings(unit="3C", number="0303")
    building.intercom.resident(session, "ignore")
    time.sleep(1.5)
    assert building.status(visit_id) == "pending"  # the adapter does not decide for the post
    assert building.settles(visit_id) == "no_answer"


def test_a_forged_webhook_rings_nobody(building: Building) -> None:
    body = json.dumps(
        {
            "request_id": "forged",
            "unit": "12A",
            "intercom": "1201",
            "visitor_name": "x",
            "category": "guest",
            "party_size": 1,
            "expires_at": "2099-01-01T00:00:00+00:00",
            "callback": f"{building.edge.url}/api/v1/intercom/answers",
        }
    ).encode()
    wrong = "sha256=" + hmac.new(b"not-the-secret", body, hashlib.sha256).hexdigest()
    url = f"http://127.0.0.1:{building.adapter_port}/webhook"
    answers: list[Any] = [
        httpx.post(url, content=body, timeout=5, headers={"X-Guardpost-Signature": sig})
        for sig in (wrong, "")
    ]
    assert [a.status_code for a in answers] == [401, 401]
    time.sleep(0.5)
    assert building.intercom.dials == []
