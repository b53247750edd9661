"""A throwaway PostgreSQL for the tests: Debian's `initdb` and `pg_ctl` (scripts/test installs
`postgresql`) in a temporary directory, on a free port, one cluster per pytest worker, a fresh
database per hub. initdb refuses to run as root: as root (CI) the cluster belongs to `nobody`."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg
import pytest

from tests.helpers import free_port, port_accepts, wait_until

USER = "guardpost"
PASSWORD = "guardpost-test"  # trust authentication on 127.0.0.1: any password is accepted


def pg_bin() -> Path | None:
    """The newest PostgreSQL server binaries Debian installed, or None."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return found[-1].parent if found else None


class PgCluster:
    """One PostgreSQL server in a temporary directory, stopped by `stop`."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="guardpost-pg-"))
        self.port = free_port()
        self._databases = 0
        self._as: list[str] = []
        if os.geteuid() == 0:  # initdb and postgres refuse root: the cluster is nobody's
            self._as = ["runuser", "-u", "nobody", "--"]
            self.root.chmod(0o755)
            shutil.chown(self.root, "nobody", "nogroup")

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            [*self._as, *args], capture_output=True, text=True, timeout=120, cwd=self.root
        )
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stdout}{result.stderr}")

    def start(self) -> PgCluster:
        data = self.root / "data"
        self._run(
            str(self.bin / "initdb"),
            *("-D", str(data), "-U", USER, "--auth=trust", "--encoding=UTF8"),
            *("--locale=C.UTF-8", "--no-sync"),
        )
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c max_connections=200 -c shared_buffers=32MB"
        )
        self._run(
            str(self.bin / "pg_ctl"),
            *("-D", str(data), "-o", options, "-l", str(self.root / "log"), "-w", "start"),
        )
        wait_until(lambda: port_accepts(self.port), 30, "postgres to listen")
        return self

    def url(self, database: str) -> str:
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A new empty database's URL."""
        self._databases += 1
        name = f"hub{self._databases}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run(
                str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "stop"
            )
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_cluster() -> PgCluster:
    """A running cluster; the test is skipped only when PostgreSQL is not installed and this is
    not CI (`CI=true`: there it fails, so the PostgreSQL half of the suite cannot quietly go)."""
    bin_dir = pg_bin()
    if bin_dir is None:
        reason = "PostgreSQL is not installed (scripts/test installs Debian's postgresql)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return PgCluster(bin_dir).start()
