"""The table of recorded figures at the top of docs/performance.md, made from docs/benchmarks.csv
(`scripts/bench --docs`): for each bench's figure its latest value, date and commit, and the range
of the last three runs on the same machine with the same options. Between the markers below;
nothing else in the page is touched, and a test checks the table is what the CSV gives."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bench_record import CSV_PATH, ROOT, Row, read_rows, same_series, shown

PERFORMANCE_MD = ROOT / "docs" / "performance.md"
BEGIN = "<!-- benchmarks:begin (written by scripts/bench --docs from docs/benchmarks.csv) -->"
END = "<!-- benchmarks:end -->"


def table(rows: Sequence[Row]) -> str:
    """The generated section's text (without the markers)."""
    latest: dict[tuple[str, str], Row] = {}
    for row in rows:
        latest.pop((row["bench"], row["figure"]), None)  # keep the order of the latest runs
        latest[(row["bench"], row["figure"])] = row
    if not latest:
        return "\nNothing recorded yet: run `scripts/bench`.\n"
    ordered = sorted(latest.values(), key=lambda row: row["bench"])  # stable: figures in order
    machines = list(dict.fromkeys(row["machine"] for row in ordered))
    lines = [
        "",
        "| bench | figure | latest | last 3 runs | date | commit | options | machine |",
        "|---|---|---|---|---|---|---|---|",
    ]
    above: tuple[str, ...] = ()
    for row in ordered:
        last = [float(old["value"]) for old in rows if same_series(old, row)][-3:]
        spread = f"{shown(min(last))} - {shown(max(last))}" if len(last) > 1 else "(one run)"
        spread += " (2 runs)" if len(last) == 2 else ""
        run = (
            row["bench"],
            row["date"][:10],
            row["commit"],
            f"`{row['options']}`",
            str(machines.index(row["machine"]) + 1),
        )
        # the bench, and the run's date, commit, options and machine, only where they change
        bench = "" if above[:1] == run[:1] else f"**{row['bench']}**"
        cells = ["", "", "", ""] if above == run else list(run[1:])
        lines.append(
            f"| {bench} | {row['figure']} | {shown(float(row['value']), row['unit'])}"
            f" | {spread} | {' | '.join(cells)} |"
        )
        above = run
    lines += ["", "Machines:", ""]
    lines += [f"{n}. {name}" for n, name in enumerate(machines, start=1)]
    return "\n".join(lines) + "\n"


def section(text: str) -> str:
    """What stands between the markers in `text`."""
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{PERFORMANCE_MD.name} lacks the markers {BEGIN} ... {END}")
    return text.split(BEGIN, 1)[1].split(END, 1)[0]


def write_docs(csv_path: Path = CSV_PATH, page: Path = PERFORMANCE_MD) -> bool:
    """The page's table made again from the CSV; whether it changed."""
    text = page.read_text(encoding="utf-8")
    old = section(text)
    new = table(read_rows(csv_path))
    if new != old:
        page.write_text(text.replace(BEGIN + old + END, BEGIN + new + END), encoding="utf-8")
    return new != old
