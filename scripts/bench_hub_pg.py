"""What `scripts/bench_hub.py` runs besides its pages: real `guardpost-hub serve` processes fed
by a real Mosquitto (the hub's own broker config and accounts) from posts that publish with the
real edge sync code, and, for `--db auto`, a throwaway PostgreSQL (the tests' `tests/pg.py`).

Each post is the edge's `Sync` over a logbook held in memory (`MemoryPost`): the events the
bench made, sent as a post sends them (batches of at most 500 events and 256 KiB, 16 in flight,
QoS 1, resent from `acked_seq + 1` when no ack came for 10 s), so the time is the hub's.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import httpx
import psycopg

from edge.sync import Sync
from hub.broker import device_username, mosquitto_hash, new_password
from hub.store import Store
from schemas.canonical import fitting
from tests.helpers import free_port, port_accepts, wait_until
from tests.pg import PgCluster, pg_bin

HUB = str(Path(sys.executable).parent / "guardpost-hub")


class MemoryPost:
    """What `edge.sync.Sync` reads and writes of a post's logbook, in memory: the post's events
    (canonical bytes, seq 1..n) and its `acked_seq`."""

    def __init__(self, site: str, device: str, encoded: list[bytes]) -> None:
        self.site, self.device, self.encoded = site, device, encoded
        self.acked = 0
        self.sync, self.disk = self, self  # Sync calls book.sync.* and book.disk.free_mb()

    def on_commit(self, callback: Callable[[Any], None]) -> None:
        """Nothing is appended during the bench."""

    def last_seq(self) -> int:
        return len(self.encoded)

    def state(self) -> dict[str, int]:
        last = len(self.encoded)
        return {"last_seq": last, "acked_seq": self.acked, "backlog": last - self.acked}

    def set_acked_now(self, acked: int) -> bool:
        if acked <= self.acked:
            return False
        self.acked = acked
        return True

    def encoded_events_after(
        self, after: int, limit: int, max_bytes: int | None = None
    ) -> list[tuple[int, bytes]]:
        bodies = self.encoded[after : after + limit]
        return fitting(((after + 1 + n, body) for n, body in enumerate(bodies)), max_bytes)

    def free_mb(self) -> int:
        return 10_000


class Resends(logging.Handler):
    """Counts the posts' "no ack in time; resending" (a batch that overtook its predecessor
    at the other hub process is not stored, and the post resends it after 10 s)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "resending" in record.getMessage():
            self.count += 1


def run(*args: str) -> str:
    result = subprocess.run([HUB, *args], capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise SystemExit(f"guardpost-hub {args[0]} failed: {result.stderr}")
    return result.stdout


class Hubs:
    """A hub directory (its tables in `db`, or SQLite), its Mosquitto, and `serve` processes."""

    def __init__(self, data: Path, db: str | None, sites: list[str]) -> None:
        self.data, self.db = data, db
        run("init", "--data", str(data), *(["--db", db] if db else []))
        self.broker_port = free_port()
        out = run("broker-config", "--data", str(data), "--port", str(self.broker_port))
        self.hub_password = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)[
            "password"
        ]
        store = Store(data)
        self.passwords = {}
        for site in sites:
            self.passwords[site] = new_password()
            store.provision_device(
                site,
                "lobby-1",
                device_username(site, "lobby-1"),
                mosquitto_hash(self.passwords[site]),
            )
        store.close()
        run("broker-config", "--data", str(data))
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, processes: int) -> None:
        conf = self.data / "broker" / "mosquitto.conf"
        self.procs.append(
            subprocess.Popen(
                ["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        )
        wait_until(lambda: port_accepts(self.broker_port), 10, "mosquitto to listen")
        broker = f"mqtt://hub:{self.hub_password}@127.0.0.1:{self.broker_port}"
        for n in range(processes):
            port = free_port()
            shared = ["--shared-subscription"] if processes > 1 else []
            self.procs.append(
                subprocess.Popen(
                    [HUB, "serve", "--data", str(self.data), "--port", str(port)]
                    + ["--broker", broker, *shared],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env={**os.environ, "GUARDPOST_HUB_CLIENT_ID": f"guardpost-hub-{n}"},
                )
            )

            def healthy(port: int = port) -> bool:
                try:
                    return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).is_success
                except httpx.HTTPError:
                    return False

            wait_until(healthy, 30, "guardpost-hub serve to answer")
        time.sleep(1.0)  # let every process subscribe before the posts send

    def drain(self, posts: list[MemoryPost]) -> tuple[float, int]:
        """Every post's events through the broker and the hub processes until all are acked:
        seconds, and how many times a post resent after waiting 10 s for an ack."""
        syncs = [
            Sync(
                cast(Any, post),
                f"mqtt://{device_username(post.site, post.device)}:{self.passwords[post.site]}"
                f"@127.0.0.1:{self.broker_port}",
            )
            for post in posts
        ]
        resends = Resends()
        logging.getLogger("edge.sync").addHandler(resends)
        started = time.monotonic()
        for sync in syncs:
            sync.start()
        try:
            while not all(post.acked == post.last_seq() for post in posts):
                if time.monotonic() - started > 3600:
                    raise SystemExit("gave up after an hour")
                time.sleep(0.05)
            return time.monotonic() - started, resends.count
        finally:
            for sync in syncs:
                sync.stop()
            logging.getLogger("edge.sync").removeHandler(resends)
            store = Store(self.data)
            stored, expected = store.count_events(), sum(p.last_seq() for p in posts)
            store.close()
            if stored != expected:
                raise SystemExit(f"the hub holds {stored} events, expected {expected}")

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()


def ingest(
    data: Path, db: str | None, posts: list[MemoryPost], processes: int
) -> tuple[float, int]:
    """A new hub in `data` (tables in `db`) drains `posts` with `processes` serve processes."""
    for post in posts:
        post.acked = 0
    hubs = Hubs(data, db, [post.site for post in posts])
    try:
        hubs.start(processes)
        return hubs.drain(posts)
    finally:
        hubs.stop()


def empty(url: str) -> None:
    """The database as new: its `public` schema dropped and made again (the bench's own)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


def auto_cluster() -> PgCluster:
    """A throwaway PostgreSQL as the tests start it (fsync off), stopped by its `stop`."""
    bin_dir = pg_bin()
    if bin_dir is None:
        raise SystemExit("PostgreSQL is not installed (scripts/setup postgresql)")
    if shutil.which("mosquitto") is None:
        raise SystemExit("mosquitto is not installed (scripts/setup mosquitto)")
    return PgCluster(bin_dir).start()
