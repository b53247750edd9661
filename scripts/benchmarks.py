"""What `scripts/bench` runs: every bench script, one at a time, at sizes that fit the whole run in
under 10 minutes on a 2-core machine; each records its figures in docs/benchmarks.csv. Then a
summary of every figure beside its previous recorded value (flagged when more than 20 % worse),
and the table in docs/performance.md made again from the CSV.

    scripts/bench [NAME ...]     run these benches (all without a NAME)
    scripts/bench --list         what it would run
    scripts/bench --docs         only make the table in docs/performance.md again

Exit status 0 when every bench ran, also when a figure is worse (it is a report); 1 when a bench
failed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench_docs import PERFORMANCE_MD, write_docs
from bench_record import CSV_PATH, ROOT, change_pct, is_worse, previous, read_rows, shown

SCRIPTS = ROOT / "scripts"
CSV, PAGE = CSV_PATH, PERFORMANCE_MD  # where the benches record, the page with the table
TIMEOUT_S = 300  # far above any bench's run at these sizes: a bench that hangs is a failure

# about 4 minutes in all on a 2-core machine: the defaults where they are cheap, smaller sizes
# where the defaults take minutes (bench_hub's 200 sites x 30 days take about a quarter of an hour)
BENCHES: dict[str, list[str]] = {
    "edge": ["bench_edge.py", "--seconds", "10", "--steady-seconds", "10"],
    "sync": ["bench_sync.py", "--events", "50000", "--posts", "25", "--per-post", "2000"],
    "hub": ["bench_hub.py", "--sites", "10", "--days", "30"],
    "pages": ["bench_pages.py"],
    "fleet": ["bench_fleet.py"],
    "photos": ["bench_photos.py", "--photos", "50"],
}


def postgresql() -> bool:
    """Whether `bench_hub.py --db auto` can start a throwaway PostgreSQL here."""
    return shutil.which("pg_ctl") is not None or any(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")
    )


def command(name: str) -> list[str]:
    """The bench's command line (bench_hub on PostgreSQL too when it is installed)."""
    args = [sys.executable, str(SCRIPTS / BENCHES[name][0]), *BENCHES[name][1:]]
    return args + ["--db", "auto"] if name == "hub" and postgresql() else args


def summary(start: int) -> list[str]:
    """Every figure recorded since row `start`: this run, the previous run, the change."""
    rows = read_rows(CSV)
    lines = [
        f"{'bench':<8}{'figure':<34}{'this run':>18}{'previous':>18}{'change':>10}",
    ]
    for index in range(start, len(rows)):
        row = rows[index]
        before = previous(rows[:index], row)
        change = change_pct(row, before)
        was = shown(float(before["value"]), row["unit"]) if before else "-"
        moved = f"{change:+.1f} %" if change is not None else "-"
        lines.append(
            f"{row['bench']:<8}{row['figure']:<34}{shown(float(row['value']), row['unit']):>18}"
            f"{was:>18}{moved:>10}{'  WORSE' if is_worse(row, change) else ''}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join(BENCHES))
    parser.add_argument("--list", action="store_true", help="print what would run")
    parser.add_argument(
        "--docs", action="store_true", help="only write the table in docs/performance.md again"
    )
    args = parser.parse_args(argv)
    names = args.names or list(BENCHES)
    if unknown := [name for name in names if name not in BENCHES]:
        parser.error(f"no bench named {', '.join(unknown)} (there are {', '.join(BENCHES)})")
    if args.docs:
        changed = write_docs(CSV, PAGE)
        print(f"{PAGE.name}: {'written' if changed else 'up to date'}")
        return 0
    if "hub" in names and not postgresql():
        print("PostgreSQL (pg_ctl) not found: bench_hub runs on SQLite only, hub_pg is skipped")
    if args.list:
        for name in names:
            line = " ".join(command(name)[1:]).replace(str(ROOT) + "/", "")
            print(f"{name:<8}{line}" + ("   (records hub and hub_pg)" if "auto" in line else ""))
        return 0
    start, failed = len(read_rows(CSV)), []
    for name in names:
        print(f"\n=== {name}: {' '.join(command(name)[1:])}", flush=True)
        started = time.monotonic()
        try:
            result = subprocess.run(command(name), cwd=ROOT, timeout=TIMEOUT_S)
            if result.returncode != 0:
                failed.append(f"{name} (exit status {result.returncode})")
        except subprocess.TimeoutExpired:
            failed.append(f"{name} (still running after {TIMEOUT_S} s)")
        print(f"=== {name}: {time.monotonic() - started:.0f} s", flush=True)
    print(f"\nrecorded in {CSV.name}:")
    print("\n".join(summary(start)))
    write_docs(CSV, PAGE)
    print(f"the table in {PAGE.name} is made again from {CSV.name}")
    if failed:
        print("FAILED: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
