#!/usr/bin/env python3
"""How the hub's ingest and pages hold up with a company's history: 200 sites x 30 days, about
a million events, sent by 200 posts through a real Mosquitto to real `guardpost-hub serve`
processes (chain checks, projections and search index included), on SQLite and on PostgreSQL.

    .venv/bin/python scripts/bench_hub.py [--sites 200] [--days 30] [--per-day 170]
        [--db auto | --db postgresql://USER:PASS@HOST:PORT/DB]

Without `--db`, SQLite only. `--db auto` starts a throwaway PostgreSQL (Debian's initdb and
pg_ctl, as the tests do, fsync off) and stops it at the end; `--db URL` uses that empty
database, whose `public` schema the bench drops and makes again between its two ingests.

Ingest (seconds until every post has every event acked): SQLite with one hub process, then
PostgreSQL with one, then with two (`--shared-subscription`, one database). Then times, through
the real app over HTTP (FastAPI's TestClient, no network), on the SQLite hub and on the
PostgreSQL hub: the overview for a manager (every site), a site's monthly report (page and PDF),
the company's monthly report, and logbook search (a Chinese word of three characters and one of
two). Targets: two processes ingest at least 1.6x one; pages under 300 ms.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_args import parse_counts  # noqa: E402
from bench_hub_pg import MemoryPost, auto_cluster, empty, ingest  # noqa: E402
from bench_record import Figure, higher, lower, record  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from hub.app import create_app  # noqa: E402
from hub.auth import HubAuth  # noqa: E402
from hub.settings import HubSettings  # noqa: E402
from hub.store import Store  # noqa: E402
from schemas.canonical import GENESIS_HASH, canonical_json  # noqa: E402
from schemas.ids import format_time, new_id  # noqa: E402
from tests.bodies import chained_event  # noqa: E402

TITLES = ["樓上裝修噪音", "升降機故障", "Lift B light flickering", "垃圾房異味", "車位被佔用"]


def history(site: str, days: int, per_day: int, end: datetime) -> list[dict[str, Any]]:
    """One post's events: visits in and out, door events, incidents with entries, notes."""
    events: list[dict[str, Any]] = []
    head = GENESIS_HASH

    def add(
        kind: str,
        record_id: str,
        at: datetime,
        data: dict[str, Any],
        pii: dict[str, Any] | None = None,
    ) -> None:
        nonlocal head
        event = chained_event(len(events) + 1, kind, format_time(at), record_id, data, pii, head)
        head = event["hash"]
        events.append(event)

    for day in range(days):
        start = end - timedelta(days=days - day)
        n = 0
        while n < per_day:
            at = start + timedelta(minutes=n * (1440 / per_day))
            visit = new_id()
            add(
                "visit.registered",
                visit,
                at,
                {
                    "unit": f"{n % 30 + 1}A",
                    "category": ("guest", "delivery", "repair")[n % 3],
                    "company": None,
                    "purpose": None,
                    "party_size": 1,
                    "checked_in_at": format_time(at),
                    "by": "guard:1001",
                    "confirmation": {
                        "status": "not_required",
                        "request_id": None,
                        "answered_at": None,
                    },
                },
                {
                    "salt": "00",
                    "visitor_name": f"訪客 {n}",
                    "id_number_masked": "A****567(8)",
                    "phone": None,
                    "vehicle_plate": None,
                    "notes": None,
                },
            )
            add(
                "visit.checked_out",
                visit,
                at + timedelta(minutes=30),
                {"checked_out_at": format_time(at + timedelta(minutes=30)), "by": "guard:1001"},
            )
            n += 2
            if n % 20 == 0:
                add(
                    "door.event",
                    new_id(),
                    at,
                    {
                        "door": "lobby",
                        "kind": "guard_override",
                        "reason": "長者住戶",
                        "visit_id": None,
                        "occurred_at": format_time(at),
                        "by": "guard:1001",
                    },
                )
                n += 1
            if n % 50 == 0:
                incident = new_id()
                severity = ("minor", "medium", "severe")[n % 3]
                add(
                    "incident.opened",
                    incident,
                    at,
                    {
                        "category": "complaint",
                        "severity": severity,
                        "title": TITLES[n % 5],
                        "description": None,
                        "location": None,
                        "visit_id": None,
                        "channel": "phone",
                        "due_at": format_time(at + timedelta(hours=24)),
                        "by": "guard:1001",
                    },
                )
                add(
                    "incident.entry",
                    new_id(),
                    at + timedelta(minutes=5),
                    {
                        "incident_id": incident,
                        "kind": "note",
                        "text": "已記錄投訴要點",
                        "by": "guard:1001",
                    },
                )
                add(
                    "incident.status",
                    incident,
                    at + timedelta(minutes=10),
                    {"status": "acknowledged", "previous": "open", "by": "guard:1001"},
                )
                n += 3
    return events


def timed(client: TestClient, path: str, runs: int = 5) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        answer = client.get(path)
        times.append(time.perf_counter() - started)
        assert answer.status_code == 200, (path, answer.status_code)
        size = len(answer.content)
    return statistics.median(times) * 1000, size


def pages(data: Path, db: str | None, month: str, site: str) -> dict[str, str]:
    """Each page's median time through the real app, as the table's cells."""
    store = Store(data)
    HubAuth(store).add_user("boss", "bench-password-1", "manager", [])
    # search as a hub has it once its search-index thread has caught up after the drain (it
    # writes the owed lines and indexes them while ingest is idle: `hub.search_index`)
    behind = store.search_lag()
    while store.write_lines(20_000):
        pass
    while store.index_search(20_000):
        pass
    if behind:
        print(
            f"  (search {behind:,} lines behind after the drain, to write or to index;"
            " caught up first)"
        )
    cells = {}
    with TestClient(create_app(HubSettings(data=data, db=db), store=store)) as client:
        client.post("/login", data={"username": "boss", "password": "bench-password-1"})
        token = client.post(
            "/api/v1/auth/login", json={"username": "boss", "password": "bench-password-1"}
        ).json()["token"]
        for label, path in (
            ("overview, every site", "/"),
            ("monthly report, one site", f"/reports/monthly?site={site}&month={month}"),
            (
                "monthly report PDF, one site",
                f"/reports/monthly?site={site}&month={month}&format=pdf",
            ),
            ("monthly report, whole company", f"/reports/monthly?month={month}"),
            ("search 3 chars 裝修噪", "/search?q=裝修噪"),
            ("search 2 chars 噪音", "/search?q=噪音"),
        ):
            ms, size = timed(client, path, runs=3 if "company" in label else 5)
            cells[label] = f"{ms:8.1f} ms {size // 1024:>4} KiB"
        client.headers["Authorization"] = f"Bearer {token}"
        ms, _ = timed(client, f"/api/v1/search?q=裝修噪&site={site}")
        cells["API search, one site"] = f"{ms:8.1f} ms" + " " * 9
    store.close()
    return cells


def figures(
    engine: str, rates: dict[str, float], resend_counts: dict[str, int], cells: dict[str, str]
) -> list[Figure]:
    """What `record` keeps of one engine's run: ingest rates, resends, each page's median."""
    found = []
    for hubs in ("one hub process", "two hub processes"):
        if f"{engine}, {hubs}" in rates:
            found.append(higher(f"ingest, {hubs}", rates[f"{engine}, {hubs}"], "events/s"))
            found.append(lower(f"resends, {hubs}", resend_counts[f"{engine}, {hubs}"], ""))
    if f"{engine}, two hub processes" in rates:
        ratio = rates[f"{engine}, two hub processes"] / rates[f"{engine}, one hub process"]
        found.append(higher("ingest, two / one", ratio, "x"))
    return found + [lower(label, float(cell.split()[0]), "ms") for label, cell in cells.items()]


def main() -> None:
    args = parse_counts(__doc__.split("\n\n")[0], texts=("db",), sites=200, days=30, per_day=170)
    if shutil.which("mosquitto") is None:
        raise SystemExit("mosquitto is not installed (scripts/setup mosquitto)")
    cluster = auto_cluster() if args.db == "auto" else None
    url = cluster.new_database() if cluster else args.db
    try:
        with tempfile.TemporaryDirectory() as tmp:
            end = datetime.now(UTC)
            posts = []
            for n in range(args.sites):
                site = f"site-{n:03d}"
                events = history(site, args.days, args.per_day, end)
                posts.append(MemoryPost(site, "lobby-1", [canonical_json(e) for e in events]))
            total = sum(post.last_seq() for post in posts)
            print(f"{total:,} events for {args.sites} sites x {args.days} days", flush=True)

            rates: dict[str, float] = {}
            resend_counts: dict[str, int] = {}

            def drain(name: str, data: Path, db: str | None, processes: int) -> None:
                seconds, resends = ingest(data, db, posts, processes)
                rates[name], resend_counts[name] = total / seconds, resends
                print(
                    f"  {name}: {seconds:.1f} s, {rates[name]:,.0f} events/s,"
                    f" {resends} resends after an ack timeout",
                    flush=True,
                )

            root = Path(tmp)
            drain("SQLite, one hub process", root / "sqlite", None, 1)
            columns = {
                "SQLite": pages(
                    root / "sqlite", None, end.strftime("%Y-%m"), posts[min(7, len(posts) - 1)].site
                )
            }
            if url:
                drain("PostgreSQL, one hub process", root / "pg1", url, 1)
                empty(url)
                drain("PostgreSQL, two hub processes", root / "pg2", url, 2)
                columns["PostgreSQL"] = pages(
                    root / "pg2", url, end.strftime("%Y-%m"), posts[min(7, len(posts) - 1)].site
                )
            print(f"{'':<34}" + "".join(f"{name:>22}" for name in columns))
            one = [f"{rates[f'{n}, one hub process']:,.0f} ev/s" for n in columns]
            print(f"{'ingest, one hub process':<34}" + "".join(f"{c:>22}" for c in one))
            if url:
                two = rates["PostgreSQL, two hub processes"]
                ratio = two / rates["PostgreSQL, one hub process"]
                print(
                    f"{'ingest, two hub processes':<34}{'':>22}{f'{two:,.0f} ev/s':>22}"
                    f"   {ratio:.2f}x one (target >= 1.6x)"
                )
            for label in columns["SQLite"]:
                print(f"  {label:<32}" + "".join(f"{c[label]:>22}" for c in columns.values()))
            sizes = {"sites": args.sites, "days": args.days, "per_day": args.per_day}
            for engine, bench in (("SQLite", "hub"), ("PostgreSQL", "hub_pg")):
                if engine in columns:
                    record(bench, figures(engine, rates, resend_counts, columns[engine]), sizes)
    finally:
        if cluster:
            cluster.stop()


if __name__ == "__main__":
    threading.excepthook = lambda info: None  # paho threads at shutdown are not results
    main()
