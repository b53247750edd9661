#!/usr/bin/env python3
"""How the hub's pages hold up with a company's history: 200 sites x 30 days, about a million
events, ingested through the hub's own ingest (chain checks and projections included).

    .venv/bin/python scripts/bench_hub.py [--sites 200] [--days 30] [--per-day 170]
        [--db postgresql://USER:PASS@HOST:PORT/DB]

`--db`: the hub's tables in that (empty) PostgreSQL database instead of a SQLite file.

Then times, through the real app over HTTP (FastAPI's TestClient, no network): the overview
for a manager (every site), a site's monthly report (page and PDF), the company's monthly
report, and logbook search (a Chinese word of three characters and one of two). Targets:
overview and monthly report under 1 s, search under 300 ms.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_args import parse_counts  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from hub.app import create_app  # noqa: E402
from hub.auth import HubAuth  # noqa: E402
from hub.settings import HubSettings  # noqa: E402
from hub.store import Store, init_store  # noqa: E402
from schemas.canonical import GENESIS_HASH  # noqa: E402
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


def main() -> None:
    args = parse_counts(__doc__.split("\n\n")[0], texts=("db",), sites=200, days=30, per_day=170)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "hub"
        init_store(data, args.db)
        print(f"engine: {'PostgreSQL' if args.db else 'SQLite'}")
        store = Store(data)
        end = datetime.now(UTC)
        started, total = time.perf_counter(), 0
        for n in range(args.sites):
            site = f"site-{n:03d}"
            events = history(site, args.days, args.per_day, end)
            for chunk in range(0, len(events), 500):
                [result] = store.ingest(
                    [
                        (
                            site,
                            "lobby-1",
                            {
                                "site": site,
                                "device": "lobby-1",
                                "events": events[chunk : chunk + 500],
                            },
                        )
                    ]
                )
                assert result.rejected is None, result.rejected
            total += len(events)
        load_s = time.perf_counter() - started
        HubAuth(store).add_user("boss", "bench-password-1", "manager", [])
        print(
            f"{total:,} events for {args.sites} sites x {args.days} days ingested in "
            f"{load_s:.0f} s ({total / load_s:,.0f} events/s)"
        )
        app = create_app(HubSettings(data=data, db=args.db), store=store)
        month = end.strftime("%Y-%m")
        with TestClient(app) as client:
            client.post("/login", data={"username": "boss", "password": "bench-password-1"})
            token = client.post(
                "/api/v1/auth/login", json={"username": "boss", "password": "bench-password-1"}
            ).json()["token"]
            for label, path in (
                ("overview, every site", "/"),
                ("monthly report, one site", f"/reports/monthly?site=site-007&month={month}"),
                (
                    "monthly report PDF, one site",
                    f"/reports/monthly?site=site-007&month={month}&format=pdf",
                ),
                ("monthly report, whole company", f"/reports/monthly?month={month}"),
                ("search 3 chars 裝修噪", "/search?q=裝修噪"),
                ("search 2 chars 噪音", "/search?q=噪音"),
            ):
                ms, size = timed(client, path, runs=3 if "company" in label else 5)
                print(f"  {label:<32} median {ms:8.1f} ms   {size // 1024:>6} KiB")
            client.headers["Authorization"] = f"Bearer {token}"
            ms, _ = timed(client, "/api/v1/search?q=裝修噪&site=site-007")
            print(f"  {'API search, one site':<32} median {ms:8.1f} ms")


if __name__ == "__main__":
    main()
