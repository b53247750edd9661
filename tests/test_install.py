"""`guardpost-edge install` (issue 18, point 1): the units it writes pass `systemd-analyze
verify` (which also checks that every ExecStart program exists), restart the post always,
run it as its own user with the file system read-only but for its data directory; `--dry-run`
writes nothing; without root it is one line and exit 2."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from .helpers import EDGE, run_edge

UNITS = "etc/systemd/system"


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        if os.environ.get("CI") == "true":
            raise AssertionError("systemd-analyze is missing (scripts/test installs systemd)")
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    return found


@pytest.fixture(scope="module")
def post(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("pi") / "post"
    result = run_edge("init", "--data", str(data), "--site", "harbour-view", "--device", "lobby-1")
    assert result.returncode == 0, result.stderr
    return data


def test_the_units_verify_and_run_the_post_hardened(post: Path, tmp_path: Path) -> None:
    analyze = systemd_analyze()
    root = tmp_path / "root"
    result = run_edge(
        "install", "--data", str(post), "--root", str(root), "--port", "8443",
        "--keep", "7", "--kiosk-user", "root",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in (root / UNITS).iterdir())
    assert names == [
        "guardpost-edge-daily.service",
        "guardpost-edge-daily.timer",
        "guardpost-edge.service",
        "guardpost-kiosk.service",
    ]
    assert result.stdout.splitlines() == [
        *(f"wrote {root / UNITS / name}" for name in sorted(names, key=_written_order)),
        f"wrote {root / 'etc/guardpost/edge.env'}",
    ]
    verified = subprocess.run(
        [analyze, "verify", *(str(root / UNITS / n) for n in names)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (verified.returncode, verified.stderr) == (0, ""), verified.stderr

    serve = (root / UNITS / "guardpost-edge.service").read_text()
    for line in (
        f"ExecStart={EDGE} serve --data {post} --host 0.0.0.0 --port 8443",
        "Restart=always",
        "After=network-online.target time-sync.target",
        "Wants=network-online.target",
        "User=guardpost",
        "ProtectSystem=strict",
        f"ReadWritePaths={post}",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "EnvironmentFile=-/etc/guardpost/edge.env",
    ):
        assert line in serve.splitlines(), line
    daily = (root / UNITS / "guardpost-edge-daily.service").read_text().splitlines()
    assert f"ExecStart=-{EDGE} purge --data {post}" in daily
    assert f"ExecStart={EDGE} backup --data {post} --to {post / 'backups'} --keep 7" in daily
    kiosk = (root / UNITS / "guardpost-kiosk.service").read_text()
    assert "--kiosk" in kiosk and "http://127.0.0.1:8443/" in kiosk
    for unit in names:
        for program in re.findall(r"^ExecStart=-?(\S+)", (root / UNITS / unit).read_text(), re.M):
            assert os.access(program, os.X_OK), program
    assert (root / "etc/guardpost/edge.env").stat().st_mode & 0o077 == 0  # it holds passwords


def _written_order(name: str) -> int:
    order = [
        "guardpost-edge.service",
        "guardpost-edge-daily.service",
        "guardpost-edge-daily.timer",
        "guardpost-kiosk.service",
    ]
    return order.index(name)


def test_a_dry_run_prints_the_units_and_writes_nothing(post: Path, tmp_path: Path) -> None:
    before = sorted(p.name for p in post.iterdir())
    result = run_edge("install", "--data", str(post), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# /etc/systemd/system/guardpost-edge.service\n[Unit]\n")
    assert "# /etc/systemd/system/guardpost-edge-daily.timer\n" in result.stdout
    assert "guardpost-kiosk" not in result.stdout
    assert sorted(p.name for p in post.iterdir()) == before


def test_without_root_install_is_one_line_and_exit_2(post: Path) -> None:
    if os.geteuid() != 0:
        result = run_edge("install", "--data", str(post))
    else:  # as the nobody user
        result = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", EDGE, "install"]
            + ["--data", str(post)],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "Error: install writes /etc/systemd/system: run it as root, or with --dry-run\n"
    )


def test_an_older_program_refuses_to_serve_a_newer_database(post: Path, tmp_path: Path) -> None:
    """An upgrade is a newer program on the same data (it migrates on start); going back to an
    older program after one is refused, before anything is written."""
    upgraded = tmp_path / "upgraded"
    shutil.copytree(post, upgraded)
    conn = sqlite3.connect(upgraded / "guardpost.db")
    version = conn.execute("PRAGMA user_version").fetchone()[0] + 1
    conn.execute(f"PRAGMA user_version = {version}")
    conn.close()
    before = (upgraded / "guardpost.db").read_bytes()
    result = run_edge("serve", "--data", str(upgraded), "--port", "1")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"Error: {upgraded / 'guardpost.db'} was written by a newer Guardpost (schema version"
        f" {version}); upgrade guardpost to open it\n"
    )
    assert (upgraded / "guardpost.db").read_bytes() == before
