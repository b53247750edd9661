"""Nobody on the lobby LAN fills the disk without logging in: every request body has a cap
(413 before it is read, declared or chunked), every login field has the API's limit on the
page too, and old login failures are pruned."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import httpx
import pytest

from service.http_limits import MAX_BODY_BYTES
from tests.helpers import (
    GUARD,
    MANAGER,
    EdgeServer,
    HubServer,
    error_fields,
)

HUGE = 30 * 1024 * 1024


def running_service(
    service: str, request: pytest.FixtureRequest
) -> tuple[EdgeServer | HubServer, Path, tuple[str, str]]:
    """The `edge` or `hub` fixture, its database, and the names of its login fields."""
    server: EdgeServer | HubServer = request.getfixturevalue(service)
    db = server.data / ("guardpost.db" if service == "edge" else "hub.db")
    return server, db, (("badge", "pin") if service == "edge" else ("username", "password"))


def failures(db: Path) -> list[tuple[str, int]]:
    """The login_failures rows: (who, length of who), read-only."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [
            (str(who)[:20], len(who))
            for (who, _) in conn.execute("SELECT * FROM login_failures ORDER BY at").fetchall()
        ]
    finally:
        conn.close()


def raw_post(port: int, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str, str]:
    """POST over a plain socket (so a huge Content-Length need not be sent in full): the
    status, the content type and the body of the answer."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        + "\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head.encode() + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
            if b"\r\n\r\n" in answer:
                top, _, rest = answer.partition(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in top.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    None,
                )
                if length is not None and len(rest) >= length:
                    break
    top, _, rest = answer.partition(b"\r\n\r\n")
    lines = top.decode().split("\r\n")
    kind = next(
        (
            line.split(":", 1)[1].strip()
            for line in lines
            if line.lower().startswith("content-type:")
        ),
        "",
    )
    return int(lines[0].split()[1]), kind, rest.decode(errors="replace")


def chunked(body: bytes, size: int = 16384) -> bytes:
    parts = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in parts) + b"0\r\n\r\n"


FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize("service", ["edge", "hub"])
def test_a_huge_login_is_refused_before_it_is_read(
    service: str, request: pytest.FixtureRequest
) -> None:
    server, db, (name, _) = running_service(service, request)
    # a 30 MB field, declared: 413 after only its first KiB was sent
    status, kind, body = raw_post(
        server.port,
        "/login?lang=en",
        {**FORM, "Content-Length": str(HUGE)},
        f"{name}=".encode() + b"1" * 1024,
    )
    assert (status, kind) == (413, "text/html; charset=utf-8")
    assert "This is more than a form may send" in body
    status, kind, body = raw_post(
        server.port,
        "/api/v1/auth/login",
        {**JSON, "Content-Length": str(HUGE)},
        b'{"' + name.encode(),
    )
    assert (status, kind) == (413, "application/json")
    assert httpx.Response(413, content=body).json() == {
        "detail": [
            {
                "loc": ["body"],
                "msg": f"the body is larger than {MAX_BODY_BYTES} bytes",
                "type": "too_large",
            }
        ]
    }
    # the same without a Content-Length (chunked): counted as it arrives, refused past the cap
    field = f"{name}=".encode() + b"1" * (MAX_BODY_BYTES + 1)
    status, kind, _ = raw_post(
        server.port, "/login", {**FORM, "Transfer-Encoding": "chunked"}, chunked(field)
    )
    assert (status, kind) == (413, "text/html; charset=utf-8")
    status, kind, body = raw_post(
        server.port,
        "/api/v1/auth/login",
        {**JSON, "Transfer-Encoding": "chunked"},
        chunked(b'{"' + name.encode() + b'": "' + b"1" * MAX_BODY_BYTES + b'", "pin": "1"}'),
    )
    assert (status, kind) == (413, "application/json")
    assert failures(db) == []
    # and the service goes on: a right login still works
    if service == "edge":
        assert (
            httpx.post(
                f"{server.url}/api/v1/auth/login",
                json={"badge": GUARD["badge"], "pin": GUARD["pin"]},
            ).status_code
            == 200
        )
    else:
        assert httpx.post(f"{server.url}/api/v1/auth/login", json=MANAGER).status_code == 200


def test_an_authorised_api_body_has_the_cap_too(edge: EdgeServer) -> None:
    token = edge.login()
    status, kind, _ = raw_post(
        edge.port,
        "/api/v1/shift-notes",
        {**JSON, "Authorization": f"Bearer {token}", "Content-Length": str(60 * 1024 * 1024)},
        b'{"text": "',
    )
    assert (status, kind) == (413, "application/json")
    with edge.client(token) as api:
        assert api.get("/logbook").json()["entries"] == []


def test_the_largest_form_the_models_allow_still_fits(edge: EdgeServer) -> None:
    """An incident with every field at its limit in 4-byte characters: under the cap."""
    with httpx.Client(base_url=edge.url, follow_redirects=False, timeout=30) as browser:
        browser.post("/login", data={"badge": GUARD["badge"], "pin": GUARD["pin"]})
        from service.pages import csrf_token

        csrf = csrf_token(browser.cookies["gp_session"])
        form = {
            "csrf": csrf,
            "category": "😀" * 64,
            "severity": "minor",
            "title": "😀" * 200,
            "description": "😀" * 5000,
            "location": "😀" * 200,
        }
        answer = browser.post("/incidents/new", data=form)
        assert len(answer.request.content) > 64 * 1024
        assert answer.status_code == 303, answer.text[:200]


@pytest.mark.parametrize("service", ["edge", "hub"])
def test_login_fields_have_the_apis_limits_on_the_page(
    service: str, request: pytest.FixtureRequest
) -> None:
    server, db, (name, secret) = running_service(service, request)
    long_name = "7" * 1000
    page = httpx.post(f"{server.url}/login?lang=en", data={name: long_name, secret: "1234"})
    assert page.status_code == 422
    assert page.headers["content-type"].startswith("text/html")
    assert "This is too long." in page.text and long_name not in page.text
    api = httpx.post(f"{server.url}/api/v1/auth/login", json={name: long_name, secret: "1234"})
    assert (api.status_code, error_fields(api)) == (422, [name])
    assert failures(db) == []
    # a wrong login is stored with what was typed, within the limit
    wrong = httpx.post(f"{server.url}/login", data={name: "7" * 64, secret: "1234"})
    assert wrong.status_code == 401
    assert failures(db) == [("7" * 20, 64)]


@pytest.mark.parametrize("service", ["edge", "hub"])
def test_login_failures_older_than_the_window_are_pruned(
    service: str, request: pytest.FixtureRequest
) -> None:
    server, db, (name, secret) = running_service(service, request)
    conn = sqlite3.connect(db, timeout=30)
    with conn:
        conn.executemany(
            "INSERT INTO login_failures VALUES (?, ?)",
            [(f"old-{n}", "2026-01-01T00:00:00.000+00:00") for n in range(1000)],
        )
    conn.close()
    assert len(failures(db)) == 1000
    answer = httpx.post(f"{server.url}/api/v1/auth/login", json={name: "someone", secret: "1234"})
    assert answer.status_code == 401
    assert failures(db) == [("someone", 7)]
