"""Sync benchmark (issue: sync every post's logbook to the hub). In one run:

(a) raw baseline: the same event batches through `mosquitto_pub -l` / `mosquitto_sub` at QoS 1
    into SQLite (executemany, one commit per batch): what moving the bytes costs, events/s;
(b) one post with a 100,000-event backlog draining into the real hub: seconds until the hub has
    acked everything, events/s;
(c) 50 simulated posts (the real edge sync code, one process, one MQTT connection each) with
    2,000 events each, draining at once.

It prints each figure and the ratio of (b) and (c) to (a). Targets: (b) <= 30 s, hub >= 0.4x (a).
Run: .venv/bin/python scripts/bench_sync.py [--events 100000] [--posts 50] [--per-post 2000]
Everything runs on loopback and stops when the run ends.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_args import parse_counts  # noqa: E402
from bench_hub_pg import Resends  # noqa: E402
from bench_record import higher, lower, record  # noqa: E402

from edge.logbook import SYSTEM, Logbook, init_data_dir  # noqa: E402
from edge.sync import Sync  # noqa: E402
from hub.broker import device_username, mosquitto_hash, new_password  # noqa: E402
from hub.store import Store  # noqa: E402
from schemas.ids import new_id  # noqa: E402
from schemas.models import (  # noqa: E402
    Category,
    Confirmation,
    ConfirmationStatus,
    VisitPii,
    VisitRegisteredData,
)
from tests.helpers import free_port  # noqa: E402

BIN = Path(sys.executable).parent
HUB = str(BIN / "guardpost-hub")


def wait_port(port: int, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def fill_post(data: Path, site: str, device: str, events: int) -> Logbook:
    """A post with `events` visit registrations, written in large transactions (setup only)."""
    init_data_dir(data, site, device)
    book = Logbook(data)
    book.directory.import_now([{"unit": "12A", "intercom": "", "residents": ""}])
    body = {
        "visitor_name": "陳大文",
        "unit": "12A",
        "category": "guest",
        "phone": "5555 0000",
        "company": "Harbour Deliveries Ltd",
        "purpose": "parcel for the management office",
        "party_size": 1,
        "vehicle_plate": None,
        "notes": None,
    }
    chunk = 5000
    for start in range(0, events, chunk):
        count = min(chunk, events - start)

        def work(conn: sqlite3.Connection, count: int = count) -> None:
            for _ in range(count):
                # the same append the API uses; many per transaction only to build the backlog
                book.writer.append(
                    conn,
                    "visit.registered",
                    new_id(),
                    VisitRegisteredData(
                        unit="12A",
                        category=Category.guest,
                        company=body["company"],
                        purpose=body["purpose"],
                        party_size=1,
                        checked_in_at="2026-11-24T01:02:03.456+00:00",
                        confirmation=Confirmation(
                            status=ConfirmationStatus.not_required,
                            request_id=None,
                            answered_at=None,
                        ),
                        by=SYSTEM.ref,
                    ),
                    VisitPii(
                        salt=os.urandom(16).hex(),
                        visitor_name=body["visitor_name"],
                        id_number_masked="A****567(8)",
                        phone=body["phone"],
                        vehicle_plate=None,
                        notes=None,
                    ),
                )

        book.writer.write(work)
    return book


class Company:
    """Hub data dir + broker config + a running Mosquitto and hub."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.hub_data = root / "hub"
        subprocess.run([HUB, "init", "--data", str(self.hub_data)], check=True, capture_output=True)
        self.broker_port, self.hub_port = free_port(), free_port()
        out = subprocess.run(
            [HUB, "broker-config", "--data", str(self.hub_data), "--port", str(self.broker_port)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        self.hub_password = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)[
            "password"
        ]
        self.procs: list[subprocess.Popen[bytes]] = []

    def provision(self, posts: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Accounts for many posts at once (the store's own provisioning, one config write)."""
        store = Store(self.hub_data)
        passwords = {}
        for site, device in posts:
            password = new_password()
            store.provision_device(
                site, device, device_username(site, device), mosquitto_hash(password)
            )
            passwords[(site, device)] = password
        store.close()
        subprocess.run(
            [HUB, "broker-config", "--data", str(self.hub_data)], check=True, capture_output=True
        )
        return passwords

    def start(self) -> None:
        conf = self.hub_data / "broker" / "mosquitto.conf"
        self.procs.append(
            subprocess.Popen(
                ["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        )
        wait_port(self.broker_port)
        self.procs.append(
            subprocess.Popen(
                [
                    HUB,
                    "serve",
                    "--data",
                    str(self.hub_data),
                    "--port",
                    str(self.hub_port),
                    "--broker",
                    f"mqtt://hub:{self.hub_password}@127.0.0.1:{self.broker_port}",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        wait_port(self.hub_port, 30)
        time.sleep(0.5)  # let the hub subscribe

    def broker_url(self, site: str, device: str, password: str) -> str:
        return f"mqtt://{device_username(site, device)}:{password}@127.0.0.1:{self.broker_port}"

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def drain(company: Company, books: list[Logbook]) -> float:
    """Start every post's real sync and time until the hub has acked every event."""
    passwords = company.provision([(b.site, b.device) for b in books])
    company.start()
    syncs = [
        Sync(b, company.broker_url(b.site, b.device, passwords[(b.site, b.device)])) for b in books
    ]
    targets = [b.sync.last_seq() for b in books]
    started = time.monotonic()
    for sync in syncs:
        sync.start()
    try:
        while True:
            if all(b.sync.state()["acked_seq"] >= t for b, t in zip(books, targets, strict=True)):
                return time.monotonic() - started
            if time.monotonic() - started > 600:
                raise SystemExit("gave up after 600 s")
            time.sleep(0.05)
    finally:
        for sync in syncs:
            sync.stop()
        hub = Store(company.hub_data)
        stored = hub.count_events()
        hub.close()
        if stored != sum(targets):
            raise SystemExit(f"hub holds {stored} events, expected {sum(targets)}")


def raw_baseline(root: Path, book: Logbook, events: int) -> float:
    """The same batches through mosquitto_pub/mosquitto_sub (QoS 1) into SQLite; seconds."""
    port = free_port()
    conf = root / "raw.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
    broker = subprocess.Popen(
        ["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    lines = root / "batches.jsonl"
    sync = Sync(book, "mqtt://127.0.0.1:1")  # only to cut batches exactly as a post does
    with lines.open("wb") as out:
        seq, batches = 1, 0
        while (batch := sync._next_batch(seq)) is not None:  # noqa: SLF001
            out.write(batch["payload"] + b"\n")
            seq = batch["last_seq"] + 1
            batches += 1
    db = sqlite3.connect(root / "raw.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE events (device TEXT, seq INTEGER, body TEXT,"
        " PRIMARY KEY (device, seq)) WITHOUT ROWID"
    )
    try:
        wait_port(port)
        sub = subprocess.Popen(
            ["mosquitto_sub", "-p", str(port), "-q", "1", "-t", "raw/events", "-C", str(batches)],
            stdout=subprocess.PIPE,
        )
        time.sleep(0.3)
        started = time.monotonic()
        pub = subprocess.Popen(
            ["mosquitto_pub", "-p", str(port), "-q", "1", "-t", "raw/events", "-l"],
            stdin=lines.open("rb"),
        )
        assert sub.stdout is not None
        stored = 0
        for raw in sub.stdout:
            batch = json.loads(raw)
            db.execute("BEGIN")
            db.executemany(
                "INSERT OR IGNORE INTO events VALUES (?, ?, ?)",
                [(batch["device"], e["seq"], json.dumps(e)) for e in batch["events"]],
            )
            db.execute("COMMIT")
            stored += len(batch["events"])
        elapsed = time.monotonic() - started
        pub.wait(timeout=30)
        sub.wait(timeout=30)
        if stored != events:
            raise SystemExit(f"raw baseline stored {stored} of {events}")
        return elapsed
    finally:
        broker.terminate()
        broker.wait(timeout=10)
        db.close()


def main() -> None:
    args = parse_counts(__doc__, raw=True, events=100_000, posts=50, per_post=2000)
    if shutil.which("mosquitto") is None:
        raise SystemExit("mosquitto is not installed (scripts/setup mosquitto)")
    root = Path(tempfile.mkdtemp(prefix="guardpost-bench-sync-"))
    results: dict[str, Any] = {}
    resends = Resends()  # the posts' "no ack in time; resending", counted for each drain
    logging.getLogger("edge.sync").addHandler(resends)
    try:
        print(f"building a {args.events}-event backlog ...", flush=True)
        big = fill_post(root / "big", "bench-site", "lobby-1", args.events)

        raw_s = raw_baseline(root, big, args.events)
        results["raw"] = args.events / raw_s
        print(
            f"(a) raw mosquitto_pub/sub -> SQLite: {args.events} events in {raw_s:.1f} s,"
            f" {results['raw']:.0f} events/s",
            flush=True,
        )

        resends.count = 0
        company = Company(root / "one")
        try:
            one_s = drain(company, [big])
        finally:
            company.stop()
        results["one"] = args.events / one_s
        print(
            f"(b) one post, {args.events}-event backlog -> hub acked all in {one_s:.1f} s,"
            f" {results['one']:.0f} events/s  (target <= 30 s)",
            flush=True,
        )
        results["one resends"] = resends.count
        print(f"    {resends.count} resends after an ack timeout", flush=True)
        big.close()

        print(f"building {args.posts} posts x {args.per_post} events ...", flush=True)
        books = [
            fill_post(root / f"post{n}", f"site-{n:02d}", "lobby-1", args.per_post)
            for n in range(args.posts)
        ]
        resends.count = 0
        company = Company(root / "many")
        try:
            many_s = drain(company, books)
        finally:
            company.stop()
        total = args.posts * args.per_post
        results["many"] = total / many_s
        print(
            f"(c) {args.posts} posts x {args.per_post} events -> hub acked all in"
            f" {many_s:.1f} s, {results['many']:.0f} events/s",
            flush=True,
        )
        results["many resends"] = resends.count
        print(f"    {resends.count} resends after an ack timeout", flush=True)
        for book in books:
            book.close()

        print(
            f"ratio (b)/(a): {results['one'] / results['raw']:.2f}x   "
            f"ratio (c)/(a): {results['many'] / results['raw']:.2f}x   (target >= 0.4x)"
        )
        record(
            "sync",
            [
                higher("(a) raw", results["raw"], "events/s"),
                higher("(b) one post", results["one"], "events/s"),
                higher("(c) many posts", results["many"], "events/s"),
                higher("(b) / (a)", results["one"] / results["raw"], "x"),
                higher("(c) / (a)", results["many"] / results["raw"], "x"),
                lower("(b) resends", results["one resends"], ""),
                lower("(c) resends", results["many resends"], ""),
            ],
            args,
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    threading.excepthook = lambda info: None  # paho threads at shutdown are not results
    main()
