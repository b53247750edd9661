"""Photo sync benchmark (issue 16): 100 photos of 2 MB attached at a post while it is offline,
then drained to the hub over a real Mosquitto, with a visit registered every second during the
drain. Prints how long the uploads took at the post, how long the drain took (from the post's
start with its broker to the last photo stored at the hub) and how long each visit took to reach
the hub (the target: within 2 s, photos or not).

Run: .venv/bin/python scripts/bench_photos.py [--photos 100] [--mb 2]
Real processes (Mosquitto, `guardpost-hub serve`, `guardpost-edge serve`) on loopback, in a
temporary directory that is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_record import higher, lower, record  # noqa: E402

from tests.helpers import Company, EdgeServer, wait_until  # noqa: E402

SITE = "harbour-view"
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"


def stored_at_hub(company: Company) -> int:
    conn = sqlite3.connect(company.hub_data / "hub.db")
    try:
        row = conn.execute("SELECT COUNT(*) FROM photos WHERE stored_at IS NOT NULL").fetchone()
        return int(row[0])
    finally:
        conn.close()


def visit_at_hub(company: Company, visit_id: str) -> bool:
    conn = sqlite3.connect(company.hub_data / "hub.db")
    try:
        return conn.execute("SELECT 1 FROM visits WHERE id = ?", (visit_id,)).fetchone() is not None
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100)
    parser.add_argument("--mb", type=float, default=2.0)
    args = parser.parse_args()
    size = int(args.mb * 1024 * 1024)
    with tempfile.TemporaryDirectory(prefix="bench-photos-") as tmp:
        company = Company(Path(tmp))
        post = company.add_post(SITE, "lobby-1")
        broker_args = post.extra_args
        offline = EdgeServer(post.data)  # no broker: everything waits at the post
        offline.start()
        try:
            with offline.client(offline.login()) as guard:
                body = {"category": "security", "severity": "minor", "title": "Evidence run"}
                incident = guard.post("/incidents", json=body).json()["id"]
                started = time.monotonic()
                for n in range(args.photos):
                    content = JPEG_HEAD + os.urandom(size - len(JPEG_HEAD))
                    files = {"file": (f"IMG_{n:04d}.jpg", content, "image/jpeg")}
                    answer = guard.post(f"/incidents/{incident}/photos", files=files)
                    assert answer.status_code == 201, answer.text
                attach_s = time.monotonic() - started
        finally:
            offline.stop()
        total_mb = args.photos * size / 1024 / 1024
        print(
            f"attached {args.photos} photos of {args.mb} MB at the post, offline, in "
            f"{attach_s:.1f} s ({total_mb / attach_s:.1f} MB/s)"
        )

        hub = company.start_hub()
        post.extra_args = broker_args
        latencies: list[float] = []
        done = threading.Event()
        try:
            post.start()
            drain_started = time.monotonic()
            with post.client(post.login()) as guard:

                def register_visits() -> None:
                    while not done.is_set():
                        visit = {"visitor_name": "陳大文", "unit": "12A", "category": "guest"}
                        sent = time.monotonic()
                        answer = guard.post("/visits", json=visit)
                        visit_id = answer.json()["id"]
                        wait_until(lambda v=visit_id: visit_at_hub(company, v), 30, "the visit")
                        latencies.append(time.monotonic() - sent)
                        done.wait(1.0)

                visitor = threading.Thread(target=register_visits, daemon=True)
                visitor.start()
                wait_until(lambda: stored_at_hub(company) >= args.photos, 600, "the drain")
                drain_s = time.monotonic() - drain_started
                done.set()
                visitor.join(timeout=35)
        finally:
            company.stop_all(hub)
        worst = max(latencies) if latencies else float("nan")
        print(
            f"drained {args.photos} photos ({total_mb:.0f} MB) to the hub in {drain_s:.1f} s "
            f"({total_mb / drain_s:.1f} MB/s), from the post's start with its broker"
        )
        print(
            f"{len(latencies)} visits registered during the drain reached the hub in "
            f"median {statistics.median(latencies):.2f} s, worst {worst:.2f} s "
            f"({'ok' if worst <= 2.0 else 'OVER 2 s'})"
        )
        record(
            "photos",
            [
                higher("attach at the post", total_mb / attach_s, "MB/s"),
                higher("drain to the hub", total_mb / drain_s, "MB/s"),
                lower("visit to the hub median", statistics.median(latencies), "s"),
                lower("visit to the hub worst", worst, "s"),
            ],
            args,
        )


if __name__ == "__main__":
    main()
