"""Pages answer pages: a form that fails shows the form again with the message next to the
field, or a message page, in the page's language; never the API's JSON, never a traceback. The
API keeps its JSON errors."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator

import httpx
import pytest

from tests.bodies import new_incident, new_visit
from tests.browser import csrf_on, signed_in
from tests.helpers import MANAGER, EdgeServer, HubServer, init_post

TABLET_LOGIN = {"badge": "1001", "pin": "2468"}
Tablet = tuple[httpx.Client, str]  # a guard's browser, and the CSRF token its forms carry


@pytest.fixture(scope="module")
def edge(shared_post: EdgeServer) -> EdgeServer:
    return shared_post


@pytest.fixture
def tablet(edge: EdgeServer) -> Iterator[Tablet]:
    """A guard's browser and the CSRF token its forms carry."""
    with signed_in(edge.url, TABLET_LOGIN) as client:
        yield client, csrf_on(client, "/incidents/new")


def submit(tablet: Tablet, path: str, **fields: str) -> httpx.Response:
    """A form of the tablet's, sent with its CSRF token."""
    client, csrf = tablet
    return client.post(path, data={"csrf": csrf, **fields})


def page_of(answer: httpx.Response) -> tuple[int, str, str]:
    """(status, `<html lang>`, the text of the page's error messages) of an HTML answer."""
    assert answer.headers["content-type"].startswith("text/html"), answer.text[:300]
    lang = re.search(r'<html lang="([^"]+)"', answer.text)
    assert lang, answer.text[:300]
    errors = re.findall(r'<p class="(?:card )?error"[^>]*>([^<]*)</p>', answer.text)
    return answer.status_code, lang.group(1), " | ".join(errors)


def test_overriding_a_visit_that_does_not_exist_is_a_page(tablet: Tablet) -> None:
    for reason in ("the resident is out", ""):
        answer = submit(tablet, "/visits/nope/override?lang=zh-Hant", reason=reason)
        assert page_of(answer) == (404, "zh-Hant", "沒有這個訪客記錄。")


def test_an_incident_about_an_unknown_visit_shows_the_form_again(tablet: Tablet) -> None:
    noise = new_incident("complaint", "minor", "Noise at 12A", visit_id="nope")
    answer = submit(tablet, "/incidents/new?lang=en", **noise)
    assert page_of(answer) == (422, "en", "There is no such visit.")
    assert 'id="visit_id-error"' in answer.text
    assert 'value="Noise at 12A"' in answer.text  # what was typed is kept


def test_a_door_event_about_an_unknown_visit_shows_the_form_again(tablet: Tablet) -> None:
    event = {"door": "lobby", "kind": "guard_override", "reason": "courier"}
    answer = submit(tablet, "/door-events/new?lang=zh-Hans", visit_id="nope", **event)
    assert page_of(answer) == (422, "zh-Hans", "没有这个访客记录。")


def test_an_override_reason_that_is_too_long_is_shown_not_cut(
    edge: EdgeServer, tablet: Tablet
) -> None:
    with edge.client(edge.login()) as api:
        visit = api.post("/visits", json=new_visit()).json()
    answer = submit(tablet, f"/visits/{visit['id']}/override?lang=en", reason="x" * 501)
    assert page_of(answer) == (422, "en", "This is too long.")


def test_a_page_that_does_not_exist_is_a_page_and_the_api_keeps_json(
    edge: EdgeServer, tablet: Tablet
) -> None:
    client, _ = tablet
    assert page_of(client.get("/nope?lang=zh-Hant")) == (404, "zh-Hant", "這裏沒有內容。")
    assert page_of(client.get("/visits/new/override")) == (405, "zh-Hant", "這裏沒有內容。")
    with edge.client(edge.login()) as api:
        missing = api.get("/nope")
        assert (missing.status_code, missing.json()) == (404, {"detail": "Not Found"})
        unknown = api.post("/visits/nope/override", json={"reason": "x"})
        assert unknown.status_code == 404
        assert unknown.json()["detail"][0]["type"] == "not_found"


def test_an_unexpected_error_is_a_page_in_the_pages_language(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A database that lost a table (a bad migration, a damaged file): the page says something
    went wrong, in its language; the API answers its JSON 500; the log has the traceback."""
    data = tmp_path_factory.mktemp("broken") / "post"
    init_post(data)
    server = EdgeServer(data).start()
    try:
        client = signed_in(server.url, TABLET_LOGIN)
        token = server.login()
        with sqlite3.connect(data / "guardpost.db") as db:
            db.execute("DROP TABLE incidents")
        with client:
            answer = client.get("/incidents?lang=zh-Hant")
            assert page_of(answer) == (
                500,
                "zh-Hant",
                "出了問題。請再試一次；如再次發生，請通知主管。",
            )
            assert "Traceback" not in answer.text and "no such table" not in answer.text
        with server.client(token) as api:
            failed = api.get("/incidents")
            assert (failed.status_code, failed.json()) == (
                500,
                {"detail": [{"loc": [], "msg": "internal error", "type": "internal"}]},
            )
        assert "no such table: incidents" in server.output()
    finally:
        server.stop()


@pytest.mark.parametrize("party_size", ["³", "1²", "9" * 5000, "٣"])
def test_a_party_size_in_other_digits_is_shown_next_to_the_field(
    tablet: Tablet, party_size: str
) -> None:
    answer = submit(tablet, "/visits/new?lang=en", **new_visit(party_size=party_size))
    assert page_of(answer) == (422, "en", "Please enter a number from 1 to 50.")
    assert 'id="party_size-error"' in answer.text


# ---- the dashboard ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hub(shared_hub: HubServer) -> HubServer:
    return shared_hub


def test_the_dashboards_errors_are_pages_and_its_api_keeps_json(hub: HubServer) -> None:
    with signed_in(hub.url, MANAGER) as desk:
        assert page_of(desk.get("/nope?lang=en")) == (404, "en", "There is nothing here.")
        csrf = csrf_on(desk, "/watchlist")
        gone = desk.post("/watchlist/nope/remove?lang=zh-Hans", data={"csrf": csrf})
        assert page_of(gone) == (404, "zh-Hans", "这里没有内容。")
    with hub.client() as api:
        assert api.get("/nope").json() == {"detail": "Not Found"}


@pytest.mark.parametrize("words", ["\x00", "ab\x00", "噪音\x00樓上", "\x1a\u202e\x00"])
def test_a_search_with_a_nul_is_answered(hub: HubServer, words: str) -> None:
    """FTS5 ends a query string at a NUL: such a search was a 500 on the page and the API."""
    with signed_in(hub.url, MANAGER) as desk:
        answer = desk.get("/search", params={"q": words, "lang": "en"})
        assert page_of(answer)[:2] == (200, "en")
    with hub.client() as api:
        assert api.get("/search", params={"q": words}).json() == {"entries": []}
