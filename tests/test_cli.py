"""guardpost-edge as an operator runs it: exact output, exit codes, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import import_units, run_edge


def fails_with(result: object, message: str) -> None:
    """Exit 2, one line on stderr that says `message`, no traceback."""
    assert result.returncode == 2, (result.stdout, result.stderr)  # type: ignore[attr-defined]
    lines = result.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert lines == [f"Error: {message}"], result.stderr  # type: ignore[attr-defined]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "post1"
    result = run_edge("init", "--data", str(path), "--site", "harbour-view", "--device", "lobby-1")
    assert (result.returncode, result.stdout.strip()) == (
        0,
        f"initialised {path} for harbour-view/lobby-1",
    )
    return path


@pytest.mark.parametrize(
    "command",
    [
        ["add-guard", "--badge", "1", "--name", "A", "--pin", "1234"],
        ["add-key", "--scope", "door", "--name", "front"],
        ["import-units", "units.csv"],
        ["serve"],
        ["verify"],
        ["purge"],
    ],
)
def test_every_data_command_refuses_an_uninitialised_dir(
    tmp_path: Path, command: list[str]
) -> None:
    empty = tmp_path / "nothing"
    fails_with(
        run_edge(*command, "--data", str(empty)),
        f"{empty} is not initialised; run guardpost-edge init --data {empty} first",
    )


def test_data_dir_from_the_environment(data: Path) -> None:
    result = run_edge("verify", env={"GUARDPOST_DATA": str(data)})
    assert (result.returncode, result.stdout.strip()) == (0, "ok 0 events")


def test_init_is_idempotent_but_refuses_another_site(data: Path) -> None:
    again = run_edge("init", "--data", str(data), "--site", "harbour-view", "--device", "lobby-1")
    assert (again.returncode, again.stdout.strip()) == (
        0,
        f"already initialised {data} for harbour-view/lobby-1",
    )
    fails_with(
        run_edge("init", "--data", str(data), "--site", "other", "--device", "lobby-1"),
        f"{data} is already initialised for site harbour-view device lobby-1",
    )


@pytest.mark.parametrize("pin", ["123", "123456789", "12a4", "", "１２３４"])
def test_add_guard_wants_a_pin_of_4_to_8_digits(data: Path, pin: str) -> None:
    fails_with(
        run_edge("add-guard", "--data", str(data), "--badge", "1", "--name", "A", "--pin", pin),
        "--pin must be 4 to 8 digits",
    )


def test_add_guard_then_update(data: Path) -> None:
    args = [
        "add-guard",
        "--data",
        str(data),
        "--badge",
        "1001",
        "--name",
        "陳大文",
        "--pin",
        "2468",
    ]
    assert run_edge(*args).stdout.strip() == "added guard 1001"
    assert run_edge(*args, "--role", "supervisor").stdout.strip() == "updated supervisor 1001"


def test_add_key_prints_the_key_last(data: Path) -> None:
    result = run_edge("add-key", "--data", str(data), "--scope", "door", "--name", "front door")
    assert result.returncode == 0
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("gpk_") and len(key) > 40
    assert key.encode() not in (data / "guardpost.db").read_bytes()
    fails_with(
        run_edge("add-key", "--data", str(data), "--scope", "admin", "--name", "x"),
        "Invalid value for '--scope': 'admin' is not one of 'door', 'intercom'.",
    )


def test_usage_errors_are_one_line_too(tmp_path: Path) -> None:
    fails_with(
        run_edge("init", "--data", str(tmp_path / "p"), "--site", "s"), "Missing option '--device'."
    )


def test_import_units_adds_then_updates(data: Path, tmp_path: Path) -> None:
    csv = tmp_path / "units.csv"
    first = import_units(data, csv, "unit,intercom,residents\n12A,1201,陳太太\n12B,,\n")
    assert first.stdout.strip() == "2 added, 0 updated"
    again = import_units(data, csv, "unit,intercom,residents\n12A,1202,陳太太\n13C,,\n")
    assert again.stdout.strip() == "1 added, 1 updated"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("flat,phone\n12A,1\n", "line 1: the header must be unit,intercom,residents"),
        ("unit,intercom,residents\n12A,1201\n", "line 2: expected 3 fields, found 2"),
        ("unit,intercom,residents\n12A,,\n,1,x\n", "line 3: unit is empty"),
        ("", "line 1: the header must be unit,intercom,residents"),
    ],
)
def test_import_units_names_the_bad_line(
    data: Path, tmp_path: Path, content: str, message: str
) -> None:
    csv = tmp_path / "units.csv"
    fails_with(import_units(data, csv, content), f"{csv}: {message}")
    # nothing half-imported
    ok = import_units(data, tmp_path / "ok.csv", "unit,intercom,residents\n12A,,\n")
    assert ok.stdout.strip() == "1 added, 0 updated"


def test_import_units_missing_or_binary_file(data: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing.csv"
    fails_with(
        run_edge("import-units", "--data", str(data), str(missing)), f"{missing}: no such file"
    )
    binary = tmp_path / "units.xlsx"
    binary.write_bytes(b"PK\x03\x04\xff\xfe\x00junk")
    fails_with(
        run_edge("import-units", "--data", str(data), str(binary)),
        f"{binary}: cannot read it as UTF-8 text (UnicodeDecodeError)",
    )


def test_serve_refuses_bad_settings_in_one_line(data: Path) -> None:
    fails_with(
        run_edge("serve", "--data", str(data), env={"GUARDPOST_TIMEZONE": "Mars/Base"}),
        "timezone: Value error, unknown time zone 'Mars/Base'",
    )
    fails_with(
        run_edge("serve", "--data", str(data), "--broker", "http://x"),
        "broker: Value error, broker must be an mqtt:// or mqtts:// URL",
    )


def test_a_damaged_database_is_one_line_too(data: Path) -> None:
    (data / "guardpost.db").write_bytes(b"this is not a database" * 100)
    for name in ("guardpost.db-wal", "guardpost.db-shm"):
        (data / name).unlink(missing_ok=True)
    result = run_edge("verify", "--data", str(data))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr == f"Error: {data / 'guardpost.db'} is not an SQLite database\n"
