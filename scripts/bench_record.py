"""What every bench script does at its end: append its figures to docs/benchmarks.csv with the
commit, the date and the machine, and print each beside the previous figure recorded for the same
bench, options and machine, flagging one that moved more than 20 % the wrong way.

    record("sync", [higher("(a) raw", 16737.0, "events/s"), lower("(b) resends", 3, "")], args)

The CSV is append-only: one run's rows are written with one `write` to a file opened for append,
then fsynced, so an interrupted run leaves whole rows or none.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import platform
import sqlite3
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CSV_PATH = ROOT / "docs" / "benchmarks.csv"
COLUMNS = ("date", "commit", "bench", "figure", "value", "unit", "better", "options", "machine")
WORSE_PCT = 20.0  # other work on a shared machine moves a figure by 10 to 20 % between runs
# what a bench run writes itself: not a change to the code measured
OWN_FILES = ("docs/benchmarks.csv", "docs/performance.md")

Row = dict[str, str]


@dataclass(frozen=True)
class Figure:
    """One measured number: `better` is "higher" (events/s, requests/s) or "lower" (ms, s)."""

    name: str
    value: float
    unit: str
    better: str


def higher(name: str, value: float, unit: str) -> Figure:
    """A figure where more is better (a rate)."""
    return Figure(name, value, unit, "higher")


def lower(name: str, value: float, unit: str) -> Figure:
    """A figure where less is better (a time, a count of resends)."""
    return Figure(name, value, unit, "lower")


def number(value: float, digits: int = 4) -> str:
    """`digits` significant digits, never in exponent form: 16737.4 -> 16740, 0.0612 -> 0.0612."""
    text = format(float(f"{value:.{digits}g}"), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def shown(value: float, unit: str = "") -> str:
    """`16,740 events/s`, `0.91x`, `4.8 ms`: a figure as people read it."""
    text = f"{value:,.0f}" if abs(value) >= 1000 else number(value, 3)
    return text + unit if unit == "x" else f"{text} {unit}".rstrip()


def options_text(options: argparse.Namespace | Mapping[str, object]) -> str:
    """`events=20000 posts=10`: the options as given, those left unset (None) out."""
    given = vars(options) if isinstance(options, argparse.Namespace) else options
    return " ".join(f"{key}={value}" for key, value in given.items() if value is not None)


def machine() -> str:
    """A short description that stays the same between runs on one machine."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = " ".join(line.split(":", 1)[1].split())
                break
        kib = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        )
        ram = f"{round(kib / 1024 / 1024)} GiB"
    except (OSError, StopIteration, ValueError):
        ram = "? GiB"
    return (
        f"{cpu} x{os.cpu_count()}; {ram}; Python {platform.python_version()};"
        f" SQLite {sqlite3.sqlite_version}"
    )


def commit() -> str:
    """`git rev-parse --short HEAD`, with `+dirty` when tracked files other than the
    benchmarks' own have changes."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        changed = git(
            "status", "--porcelain", "--untracked-files=no", "--", ".",
            *(f":!{path}" for path in OWN_FILES),
        )  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if changed else "")


def read_rows(path: Path = CSV_PATH) -> list[Row]:
    """Every recorded row, oldest first."""
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def same_series(a: Row, b: Row) -> bool:
    """Rows that may be compared: one bench's figure, with the same options, on one machine."""
    return all(a[key] == b[key] for key in ("bench", "figure", "options", "machine"))


def previous(rows: Sequence[Row], row: Row) -> Row | None:
    """The latest of `rows` in the same series as `row`."""
    return next((old for old in reversed(rows) if same_series(old, row)), None)


def change_pct(row: Row, before: Row | None) -> float | None:
    """How far `row` moved from `before`, in % (None without a non-zero figure to compare)."""
    if before is None or float(before["value"]) == 0:
        return None
    return (float(row["value"]) - float(before["value"])) / abs(float(before["value"])) * 100


def is_worse(row: Row, change: float | None) -> bool:
    """Moved more than WORSE_PCT the wrong way for its `better`."""
    if change is None:
        return False
    return change < -WORSE_PCT if row["better"] == "higher" else change > WORSE_PCT


def compared(row: Row, before: Row | None) -> str:
    """`16,740 events/s (was 17,000 on 2026-11-30 at b34f5d0: -1.5 %)`, flagged when worse."""
    now = shown(float(row["value"]), row["unit"])
    if before is None:
        return f"{now} (first on this machine with these options)"
    change = change_pct(row, before)
    moved = "" if change is None else f": {change:+.1f} %"
    flag = f"  WORSE by {abs(change):.0f} %" if change is not None and is_worse(row, change) else ""
    was = f"{shown(float(before['value']))} on {before['date'][:10]} at {before['commit']}"
    return f"{now} (was {was}{moved}){flag}"


def append_rows(rows: Iterable[Row], path: Path = CSV_PATH) -> None:
    """The rows at the end of `path` (the header first when it is new), in one write + fsync."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size == 0:
            writer.writeheader()
        elif os.pread(fd, 1, size - 1) != b"\n":  # a hand edit without its last line break
            out.write("\n")
        writer.writerows(rows)
        os.write(fd, out.getvalue().encode("utf-8"))
        os.fsync(fd)  # a row is either recorded whole or not at all
    finally:
        os.close(fd)


def record(
    bench: str,
    figures: Sequence[Figure],
    options: argparse.Namespace | Mapping[str, object],
    path: Path = CSV_PATH,
) -> list[Row]:
    """Append one row per figure to `path` and print each beside its previous value."""
    common = {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": commit(),
        "bench": bench,
        "options": options_text(options),
        "machine": machine(),
    }
    rows = [
        {**common, "figure": f.name, "value": number(f.value), "unit": f.unit, "better": f.better}
        for f in figures
    ]
    before = read_rows(path)
    append_rows(rows, path)
    print(f"recorded in {path.name} ({bench}, {common['commit']}):")
    for row in rows:
        print(f"  {row['figure']:<32} {compared(row, previous(before, row))}")
    return rows
