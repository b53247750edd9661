"""Dates and times people and door controllers type: a date outside 2000-01-01..2100-12-31, a
month that does not exist and a time without its UTC offset are a 422 naming the field (API) or
the page again with the message next to the field (pages), at post and hub; never a 500."""

from __future__ import annotations

import re

import httpx
import pytest

from tests import bodies
from tests.browser import signed_in
from tests.helpers import MANAGER, EdgeServer, HubServer, error_fields

BAD_DAYS = [*bodies.BAD_DAYS, "2026-W47-1", "yesterday"]
BAD_MONTHS = ["9999-12", "0001-01", "2026-13", "2026-00", "1999-12", "2026-1", "2026-11-01"]


def html_lang(answer: httpx.Response) -> str:
    """The language a page names in `<html lang>`; fails unless the answer is a page."""
    assert answer.headers["content-type"].startswith("text/html"), answer.text[:200]
    found = re.search(r'<html lang="([^"]+)"', answer.text)
    assert found, answer.text[:200]
    return found.group(1)


def error_texts(answer: httpx.Response) -> list[str]:
    """The messages a page shows next to its fields (`<p class="error" id="FIELD-error">`)."""
    return re.findall(r'<p class="error" id="([a-z_-]+)-error">', answer.text)


# ---- the post --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def edge(shared_post: EdgeServer) -> EdgeServer:
    """One post for the module: every request here is refused or reads nothing."""
    return shared_post


@pytest.mark.parametrize("day", BAD_DAYS)
def test_the_post_api_refuses_a_date_out_of_range_naming_it(edge: EdgeServer, day: str) -> None:
    with edge.client(edge.login()) as api:
        for path in ("/visits", "/logbook"):
            answer = api.get(path, params={"date": day})
            assert (answer.status_code, error_fields(answer)) == (422, ["date"]), (path, day)


def test_the_post_api_answers_the_first_and_last_day_of_the_range(edge: EdgeServer) -> None:
    with edge.client(edge.login()) as api:
        for day in ("2000-01-01", "2100-12-31"):
            assert api.get("/visits", params={"date": day}).json() == {"visits": []}
            assert api.get("/logbook", params={"date": day}).json() == {"entries": []}


@pytest.mark.parametrize(
    "moment",
    [
        "2026-11-22T15:04:05",
        "2026-11-22 15:04:05",
        "0001-01-01T00:00:00+08:00",
        "9999-12-31T23:59:59-05:00",
    ],
)
def test_a_door_event_time_needs_its_offset_and_a_sane_year(edge: EdgeServer, moment: str) -> None:
    with edge.client(edge.keys["door"]) as door:  # type: ignore[attr-defined]
        answer = door.post(
            "/door-events", json={"door": "lobby", "kind": "forced", "occurred_at": moment}
        )
        assert (answer.status_code, error_fields(answer)) == (422, ["occurred_at"])
        if "+" not in moment and "-05" not in moment:
            assert "offset" in answer.json()["detail"][0]["msg"]
        good = door.post(
            "/door-events",
            json={"door": "lobby", "kind": "closed", "occurred_at": "2026-11-22T15:04:05+08:00"},
        )
        assert good.status_code == 201
        assert good.json()["occurred_at"] == "2026-11-22T07:04:05.000+00:00"


def test_a_preapproval_needs_offsets_on_its_times(edge: EdgeServer) -> None:
    with edge.client(edge.keys["intercom"]) as intercom:  # type: ignore[attr-defined]
        for body, field in (
            ({"valid_until": "2099-01-01T00:00:00"}, "valid_until"),
            (
                {"valid_until": "2099-01-01T00:00:00+08:00", "valid_from": "2026-01-01T00:00:00"},
                "valid_from",
            ),
            ({"valid_until": "9999-12-31T23:59:59+14:00"}, "valid_until"),
        ):
            answer = intercom.post("/intercom/preapprovals", json={"unit": "12A", **body})
            assert (answer.status_code, error_fields(answer)) == (422, [field]), body


def edge_session(edge: EdgeServer) -> httpx.Client:
    """A tablet's browser: the session cookie of a guard's login."""
    return signed_in(edge.url, {"badge": "1001", "pin": "2468"})


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "2026-02-30", "yesterday"])
def test_the_tablet_shows_a_bad_date_next_to_its_field(edge: EdgeServer, day: str) -> None:
    with edge_session(edge) as tablet:
        for path in ("/visits", "/logbook"):
            answer = tablet.get(path, params={"date": day, "lang": "zh-Hant"})
            assert answer.status_code == 422, (path, answer.text[:300])
            assert html_lang(answer) == "zh-Hant"
            assert error_texts(answer) == ["date"]
            assert "2000-01-01" in answer.text and "2100-12-31" in answer.text
            assert f'value="{day}"' in answer.text  # what was typed is kept


# ---- the hub ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hub(shared_hub: HubServer) -> HubServer:
    """A hub with a manager and one provisioned post (no broker: nothing to ingest)."""
    return shared_hub


@pytest.mark.parametrize("day", BAD_DAYS)
def test_the_hub_api_refuses_a_date_out_of_range_naming_it(hub: HubServer, day: str) -> None:
    with hub.client() as api:
        for path, params, field in (
            ("/visits", {"date": day}, "date"),
            ("/logbook", {"site": "harbour-view", "date": day}, "date"),
            ("/search", {"q": "x", "date_from": day}, "date_from"),
            ("/search", {"q": "x", "date_to": day}, "date_to"),
        ):
            answer = api.get(path, params=params)
            assert (answer.status_code, error_fields(answer)) == (422, [field]), (path, day)


def hub_session(hub: HubServer) -> httpx.Client:
    """A supervisor's browser: the session cookie of a manager's login."""
    return signed_in(hub.url, MANAGER, timeout=60)


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "2026-02-30", "yesterday"])
def test_the_dashboard_shows_a_bad_date_next_to_its_field(hub: HubServer, day: str) -> None:
    with hub_session(hub) as desk:
        for path, params, field in (
            ("/reports/daily", {"site": "harbour-view", "date": day}, "daily-date"),
            ("/sites/harbour-view", {"date": day}, "date"),
            ("/search", {"q": "x", "from": day}, "from"),
            ("/search", {"q": "x", "to": day}, "to"),
        ):
            for lang in ("en", "zh-Hans"):
                answer = desk.get(path, params={**params, "lang": lang})
                assert answer.status_code == 422, (path, answer.text[:300])
                assert html_lang(answer) == lang
                assert error_texts(answer) == [field], path
                assert f'value="{day}"' in answer.text


@pytest.mark.parametrize("month", BAD_MONTHS)
def test_the_dashboard_shows_a_bad_month_next_to_its_field(hub: HubServer, month: str) -> None:
    with hub_session(hub) as desk:
        for fmt in ("html", "csv", "pdf"):
            answer = desk.get(
                "/reports/monthly", params={"month": month, "format": fmt, "lang": "zh-Hant"}
            )
            assert answer.status_code == 422, answer.text[:300]
            assert html_lang(answer) == "zh-Hant"
            assert error_texts(answer) == ["month"]


def test_the_dashboard_answers_the_first_and_last_month_of_the_range(hub: HubServer) -> None:
    with hub_session(hub) as desk:
        for month in ("2000-01", "2100-12"):
            answer = desk.get("/reports/monthly", params={"month": month})
            assert answer.status_code == 200
            assert month in answer.text
        for day in ("2000-01-01", "2100-12-31"):
            answer = desk.get(
                "/reports/daily", params={"site": "harbour-view", "date": day, "format": "csv"}
            )
            assert answer.status_code == 200
