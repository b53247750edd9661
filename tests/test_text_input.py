"""What people type is text that shows: a control character (a NUL, an escape, DEL) in a
one-line field or an ID number is 422 naming the field, and so is a required field of only
spaces and zero-width characters, in the API, the pages and the CLI. A new PIN from
`add-guard` ends that guard's sessions at once, in a running post too."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.pages import csrf_token
from tests.helpers import GUARD, EdgeServer, add_guard, import_units, init_post, run_edge


@pytest.fixture(scope="module")
def one_post(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeServer]:
    """One post for the many refusals below (nothing they send is stored)."""
    data = tmp_path_factory.mktemp("refusals") / "post"
    init_post(data)
    server = EdgeServer(data).start()
    try:
        yield server
    finally:
        server.stop()


VISIT = {"visitor_name": "Chan Tai Man", "unit": "12B", "category": "guest"}
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff \u3000"  # zero-width, joiners, BOM, spaces


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/visits", {**VISIT, "id_number": "A123\x00456(7)"}, "id_number"),
        ("/visits", {**VISIT, "id_number": "A123\n456(7)"}, "id_number"),
        ("/visits", {**VISIT, "id_number": INVISIBLE}, "id_number"),
        ("/visits", {**VISIT, "visitor_name": "Chan\x1b[2J"}, "visitor_name"),
        ("/visits", {**VISIT, "visitor_name": "Chan\u0085Tai"}, "visitor_name"),  # C1 NEL
        ("/visits", {**VISIT, "visitor_name": "Chan\tTai"}, "visitor_name"),
        ("/visits", {**VISIT, "visitor_name": INVISIBLE}, "visitor_name"),
        ("/visits", {**VISIT, "unit": "\u200b"}, "unit"),
        ("/visits", {**VISIT, "phone": "9123\x7f4567"}, "phone"),
        ("/visits", {**VISIT, "company": "\u200b\u200b"}, "company"),
        ("/visits", {**VISIT, "notes": "late\x00"}, "notes"),
        ("/visits", {**VISIT, "preapproval_code": "12\x0034"}, "preapproval_code"),
        ("/shift-notes", {"text": INVISIBLE}, "text"),
        ("/shift-notes", {"text": "\u2060\u2060\u2060"}, "text"),
        (
            "/incidents",
            {"category": "other", "severity": "minor", "title": "Lift\u2028stuck"},
            "title",
        ),
        ("/incidents", {"category": "\u200b", "severity": "minor", "title": "Lift"}, "category"),
        ("/door-events", {"door": "\ufeff", "kind": "forced"}, "door"),
    ],
)
def test_control_and_invisible_text_is_refused_naming_the_field(
    one_post: EdgeServer, path: str, body: dict[str, str], field: str
) -> None:
    with one_post.client(one_post.login()) as api:
        before = api.get("/logbook").json()["entries"]
        answer = api.post(path, json=body)
        assert (answer.status_code, answer.json().get("detail", [{}])[0].get("loc")) == (
            422,
            ["body", field],
        )
        assert api.get("/logbook").json()["entries"] == before


def test_optional_fields_sent_as_null_are_simply_absent(one_post: EdgeServer) -> None:
    """An integrator's `null` for every optional field registers the visit (a fuzz run found
    the control-character check reading a null as text: 500)."""
    nulls = {
        name: None
        for name in (
            "id_number",
            "phone",
            "company",
            "purpose",
            "vehicle_plate",
            "notes",
            "preapproval_code",
        )
    }
    with one_post.client(one_post.login()) as api:
        answer = api.post("/visits", json={**VISIT, **nulls})
        assert answer.status_code == 201, answer.text
        assert {k: answer.json()[k] for k in ("id_number_masked", "phone", "company")} == {
            "id_number_masked": None,
            "phone": None,
            "company": None,
        }
        api.post(f"/visits/{answer.json()['id']}/checkout", json={})


def test_free_text_keeps_its_lines_and_names_their_zero_width_joiners(edge: EdgeServer) -> None:
    with edge.client(edge.login()) as api:
        visit = api.post(
            "/visits",
            json={**VISIT, "notes": "line one\nline two\tend", "visitor_name": "👩\u200d💻 Chan"},
        )
        assert visit.status_code == 201, visit.text
        assert (visit.json()["notes"], visit.json()["visitor_name"]) == (
            "line one\nline two\tend",
            "👩\u200d💻 Chan",
        )
        note = api.post("/shift-notes", json={"text": "All quiet.\r\nKeys returned."})
        assert note.status_code == 201


def test_the_pages_refuse_the_same(edge: EdgeServer) -> None:
    with httpx.Client(base_url=edge.url, timeout=30) as browser:
        browser.post("/login", data={"badge": GUARD["badge"], "pin": GUARD["pin"]})
        csrf = csrf_token(browser.cookies["gp_session"])
        note = browser.post("/shift?lang=en", data={"csrf": csrf, "text": INVISIBLE})
        assert note.status_code == 422 and "Please fill this in." in note.text
        visit = browser.post(
            "/visits/new?lang=en",
            data={"csrf": csrf, **VISIT, "party_size": "1", "id_number": "A123\x00456"},
        )
        assert visit.status_code == 422 and 'id="id_number-error"' in visit.text
        assert "A123" not in visit.text  # the ID number is never sent back
    with edge.client(edge.login()) as api:
        assert api.get("/logbook").json()["entries"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--badge", "1001", "--name", INVISIBLE],
            "--name: must not be empty or only invisible characters",
        ),
        (
            ["--badge", "10\x1b01", "--name", "Chan"],
            "--badge: must not contain control characters or line breaks",
        ),
        (
            ["--badge", "1" * 65, "--name", "Chan"],
            "--badge: string should have at most 64 characters",
        ),
    ],
)
def test_add_guard_refuses_what_a_login_could_not_type(
    one_post: EdgeServer, args: list[str], message: str
) -> None:
    result = run_edge("add-guard", "--data", str(one_post.data), *args, "--pin", "1234")
    assert (result.returncode, result.stderr.strip().splitlines()) == (2, [f"Error: {message}"])


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("\u200b\u200b,,", "line 2: unit is empty"),
        ("12Z,\x7f,", "line 2: unit is too long or has control characters"),
        ("12Z,,Mr\u0085Lee", "line 2: unit is too long or has control characters"),
    ],
)
def test_import_units_refuses_invisible_units_and_control_characters(
    one_post: EdgeServer, tmp_path: Path, row: str, message: str
) -> None:
    content = f"unit,intercom,residents\n{row}\n"
    csv = tmp_path / "bad.csv"
    result = import_units(one_post.data, csv, content)
    assert (result.returncode, result.stderr.strip()) == (2, f"Error: {csv}: {message}")


def test_a_new_pin_ends_the_guards_sessions_at_once(edge: EdgeServer) -> None:
    token = edge.login()
    with httpx.Client(base_url=edge.url, timeout=30) as browser:
        browser.post("/login", data={"badge": GUARD["badge"], "pin": GUARD["pin"]})
        assert browser.get("/").status_code == 200
        with edge.client(token) as api:
            assert api.get("/sync").status_code == 200  # cached by the running post now
            same = add_guard(edge.data, GUARD)
            assert same.stdout.strip() == f"updated guard {GUARD['badge']}"
            assert api.get("/sync").status_code == 200  # same PIN, same role: still in
            changed = add_guard(edge.data, {**GUARD, "pin": "97531"})
            assert (changed.returncode, changed.stdout.strip()) == (
                0,
                f"updated guard {GUARD['badge']}; 2 open sessions ended",
            )
            assert api.get("/sync").status_code == 401  # at once, not after the cache's minute
        assert browser.get("/", follow_redirects=False).headers["location"] == "/login"
    assert edge.login({**GUARD, "pin": "97531"})
    conn = sqlite3.connect(f"file:{edge.data / 'guardpost.db'}?mode=ro", uri=True)
    try:
        assert conn.execute(
            "SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL"
        ).fetchone() == (1,)
    finally:
        conn.close()
