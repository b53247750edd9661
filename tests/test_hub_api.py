"""The hub's own logins: roles, wrong passwords, lockout, logout, and its CLI's one-line errors."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import both_engines
from tests.helpers import MANAGER, HubServer, add_user, init_hub, run_hub


@pytest.fixture
def hub(tmp_path: Path) -> HubServer:
    data = tmp_path / "hub"
    init_hub(data)
    return HubServer(data)


@both_engines
def test_login_logout_and_lockout(hub: HubServer) -> None:
    hub.start()
    try:
        url = f"{hub.url}/api/v1"
        answer = httpx.post(f"{url}/auth/login", json=MANAGER)
        assert answer.status_code == 200
        assert answer.json()["user"] == {"username": "manager", "role": "manager", "sites": None}
        headers = {"Authorization": f"Bearer {answer.json()['token']}"}
        assert httpx.get(f"{url}/devices", headers=headers).json() == {"devices": []}
        assert httpx.post(f"{url}/auth/logout", headers=headers).status_code == 204
        assert httpx.get(f"{url}/devices", headers=headers).status_code == 401
        wrong = {"username": "manager", "password": "not-the-password"}
        assert [httpx.post(f"{url}/auth/login", json=wrong).status_code for _ in range(5)] == [
            401
        ] * 5
        assert httpx.post(f"{url}/auth/login", json=MANAGER).status_code == 429
        assert httpx.get(f"{url}/logbook", params={"site": "x"}).status_code == 401
    finally:
        hub.stop()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["add-user", "--username", "s", "--password", "longenough", "--role", "supervisor"],
            "--sites is required for a supervisor",
        ),
        (
            ["add-user", "--username", "s", "--password", "short", "--role", "manager"],
            "--password must be at least 8 characters",
        ),
        (
            ["add-user", "--username", "s p", "--password", "longenough", "--role", "manager"],
            "--username may hold only letters, digits, '-' and '_'",
        ),
        (
            ["provision-device", "--site", "a/b", "--device", "d"],
            "--site must be 1 to 63 lower-case letters, digits and '-', starting with a letter or"
            " digit, e.g. harbour-view or lobby-1",
        ),
    ],
)
def test_hub_cli_misuse_is_one_line(hub: HubServer, args: list[str], message: str) -> None:
    result = run_hub(*args, "--data", str(hub.data))
    assert (result.returncode, result.stderr.strip()) == (2, f"Error: {message}")


def test_hub_commands_refuse_an_uninitialised_dir(tmp_path: Path) -> None:
    empty = tmp_path / "none"
    result = run_hub("broker-config", "--data", str(empty))
    assert (result.returncode, result.stderr.strip()) == (
        2,
        f"Error: {empty} is not initialised; run guardpost-hub init --data {empty} first",
    )


def test_broker_config_keeps_the_hub_account(hub: HubServer) -> None:
    first = run_hub("broker-config", "--data", str(hub.data), "--port", "18999")
    second = run_hub("broker-config", "--data", str(hub.data))
    assert first.returncode == second.returncode == 0
    assert first.stdout.splitlines()[1:] == second.stdout.splitlines()[1:]
    conf = (hub.data / "broker" / "mosquitto.conf").read_text()
    assert "listener 18999\n" in conf and "allow_anonymous false\n" in conf
    device = run_hub(
        "provision-device", "--data", str(hub.data), "--site", "hv", "--device", "lobby-1"
    )
    assert device.stdout.splitlines()[1] == "username=hv.lobby-1"
    acl = (hub.data / "broker" / "acl").read_text()
    assert (
        "user hv.lobby-1\ntopic write guardpost/v1/hv/lobby-1/events\n"
        "topic write guardpost/v1/hv/lobby-1/status\n"
        "topic write guardpost/v1/hv/lobby-1/blobs\n"
        "topic read guardpost/v1/hv/lobby-1/ack\n"
        "topic read guardpost/v1/hv/lobby-1/blobs/ack\n"
        "topic read guardpost/v1/hv/down\n"
    ) in acl
    password = device.stdout.splitlines()[2].removeprefix("password=")
    assert password not in (hub.data / "broker" / "passwd").read_text()


def test_a_manager_ends_a_users_sessions_and_a_new_password_ends_them_too(hub: HubServer) -> None:
    sup = {"username": "wong", "password": "wong-pass-1"}
    add_user(hub.data, sup, "supervisor", "a")
    hub.start()
    try:
        url = f"{hub.url}/api/v1"

        def token(user: dict[str, str]) -> dict[str, str]:
            answer = httpx.post(f"{url}/auth/login", json=user)
            return {"Authorization": f"Bearer {answer.json()['token']}"}

        boss, wong = token(MANAGER), token(sup)
        refused = httpx.post(f"{url}/users/manager/revoke-sessions", headers=wong)
        assert refused.status_code == 403
        assert httpx.post(f"{url}/users/nobody/revoke-sessions", headers=boss).status_code == 404
        done = httpx.post(f"{url}/users/wong/revoke-sessions", headers=boss)
        assert done.json() == {"revoked": 1}
        assert httpx.get(f"{url}/devices", headers=wong).status_code == 401
        wong = token(sup)
        add_user(hub.data, {"username": "wong", "password": "a-new-pass-2"}, "supervisor", "a")
        assert httpx.get(f"{url}/devices", headers=wong).status_code == 401
        assert httpx.get(f"{url}/devices", headers=boss).status_code == 200
    finally:
        hub.stop()
