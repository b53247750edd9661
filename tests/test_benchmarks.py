"""Benchmarks that cannot go stale (issue 19): every bench script records its figures in
docs/benchmarks.csv, compares each with the previous run, and docs/performance.md quotes the
recorded rows. No benchmark runs here."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import bench_docs  # noqa: E402
import bench_record  # noqa: E402
import benchmarks  # noqa: E402
from bench_record import higher, lower, record  # noqa: E402


def test_record_appends_one_row_per_figure_with_commit_date_and_machine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "benchmarks.csv"
    record(
        "sync", [higher("(a) raw", 16737.4, "events/s"), lower("resends", 3, "")], {"n": 5}, path
    )
    record("sync", [higher("(a) raw", 17001.0, "events/s")], {"n": 5, "db": None}, path)
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    assert rows[0] == list(bench_record.COLUMNS)
    assert [row[2:8] for row in rows[1:]] == [
        ["sync", "(a) raw", "16740", "events/s", "higher", "n=5"],
        ["sync", "resends", "3", "", "lower", "n=5"],
        ["sync", "(a) raw", "17000", "events/s", "higher", "n=5"],
    ]
    assert {row[8] for row in rows[1:]} == {bench_record.machine()}
    assert rows[1][1].removesuffix("+dirty") == rows[3][1].removesuffix("+dirty") != "unknown"
    out = capsys.readouterr().out
    assert "(first on this machine with these options)" in out
    assert "17,000 events/s (was 16,740 on " in out and ": +1.6 %)" in out
    assert "WORSE" not in out


@pytest.mark.parametrize(
    ("figure", "before", "after", "worse"),
    [
        (higher("rate", 0, "events/s"), 1000.0, 790.0, True),
        (higher("rate", 0, "events/s"), 1000.0, 810.0, False),
        (higher("rate", 0, "events/s"), 1000.0, 5000.0, False),
        (lower("p99", 0, "ms"), 10.0, 12.5, True),
        (lower("p99", 0, "ms"), 10.0, 11.5, False),
        (lower("p99", 0, "ms"), 10.0, 1.0, False),
    ],
)
def test_a_change_over_20_pct_the_wrong_way_is_flagged(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    figure: bench_record.Figure,
    before: float,
    after: float,
    worse: bool,
) -> None:
    path = tmp_path / "benchmarks.csv"
    record("edge", [bench_record.Figure(figure.name, before, figure.unit, figure.better)], {}, path)
    capsys.readouterr()
    record("edge", [bench_record.Figure(figure.name, after, figure.unit, figure.better)], {}, path)
    line = capsys.readouterr().out.splitlines()[1]
    change = (after - before) / before * 100
    assert f"{change:+.1f} %" in line
    assert line.endswith(f"WORSE by {abs(change):.0f} %") == worse, line


def test_another_machine_or_other_options_are_not_compared(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "benchmarks.csv"
    record("hub", [lower("overview", 10.0, "ms")], {"sites": 5}, path)
    record("hub", [lower("overview", 50.0, "ms")], {"sites": 50}, path)
    monkeypatch.setattr(bench_record, "machine", lambda: "a Raspberry Pi 4 x4; 4 GiB")
    record("hub", [lower("overview", 90.0, "ms")], {"sites": 5}, path)
    record("hub", [lower("overview", 95.0, "ms")], {"sites": 5}, path)
    lines = [line for line in capsys.readouterr().out.splitlines() if "overview" in line]
    assert [line.split("ms", 1)[1].strip() for line in lines[:3]] == [
        "(first on this machine with these options)"
    ] * 3
    assert "(was 90 on " in lines[3] and "WORSE" not in lines[3]


def test_an_interrupted_run_leaves_whole_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows go out in one write to a file opened for append: never half a row."""
    path = tmp_path / "benchmarks.csv"
    writes: list[bytes] = []
    real_write = bench_record.os.write

    def counting_write(fd: int, data: bytes) -> int:
        writes.append(data)
        return real_write(fd, data)

    monkeypatch.setattr(bench_record.os, "write", counting_write)
    figures = [higher(f"figure {n}", n, "events/s") for n in range(1, 6)]
    record("sync", figures, {}, path)
    record("sync", figures, {}, path)
    monkeypatch.undo()
    assert len(writes) == 2 and all(data.endswith(b"\n") for data in writes)
    assert path.read_bytes() == b"".join(writes)
    path.write_bytes(path.read_bytes().rstrip(b"\n"))  # a hand edit lost the last line break
    record("sync", figures, {}, path)
    assert len(bench_record.read_rows(path)) == 15


def test_the_table_in_performance_md_is_what_the_csv_gives() -> None:
    """A hand edit of the table, or a CSV recorded without `scripts/bench --docs`, fails."""
    page = bench_docs.PERFORMANCE_MD.read_text(encoding="utf-8")
    assert bench_docs.section(page) == bench_docs.table(bench_record.read_rows())


def test_the_table_quotes_the_latest_run_and_the_range_of_the_last_three(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, page = tmp_path / "benchmarks.csv", tmp_path / "performance.md"
    here = bench_record.machine()
    page.write_text(f"# Performance\n\n{bench_docs.BEGIN}\nold\n{bench_docs.END}\n\nprose\n")
    for rate in (9000.0, 12000.0, 10000.0, 11000.0):
        record(
            "sync", [higher("(b) one post", rate, "events/s"), lower("resends", 0, "")], {}, path
        )
    record("sync", [higher("(b) / (a)", 0.456, "x")], {"events": 100}, path)
    monkeypatch.setattr(bench_record, "machine", lambda: "a Raspberry Pi 4 x4; 4 GiB")
    record("edge", [lower("steady p99", 6.71, "ms")], {"rate": 50}, path)
    assert bench_docs.write_docs(path, page) is True
    assert bench_docs.write_docs(path, page) is False
    text = page.read_text()
    assert text.startswith("# Performance\n\n") and text.endswith(f"{bench_docs.END}\n\nprose\n")
    table = bench_docs.section(text).splitlines()
    assert [line.split(" | ")[:4] for line in table[3:7]] == [
        ["| **edge**", "steady p99", "6.71 ms", "(one run)"],
        ["| **sync**", "(b) one post", "11,000 events/s", "10,000 - 12,000"],
        ["| ", "resends", "0", "0 - 0"],
        ["| ", "(b) / (a)", "0.456x", "(one run)"],
    ]
    # a run's date, commit, options and machine where they change from the row above
    assert table[3].endswith("| `rate=50` | 1 |") and table[4].endswith("| `` | 2 |")
    assert table[5].endswith("| 0 - 0 |  |  |  |  |")
    assert table[6].endswith("| `events=100` | 2 |")
    assert table[-2:] == ["1. a Raspberry Pi 4 x4; 4 GiB", f"2. {here}"]


def test_every_bench_script_records_its_figures_and_scripts_bench_runs_it() -> None:
    runnable = {
        path.stem: path.read_text(encoding="utf-8")
        for path in (ROOT / "scripts").glob("bench_*.py")
        if 'if __name__ == "__main__":' in path.read_text(encoding="utf-8")
    }
    assert set(runnable) >= {f"bench_{name}" for name in ("edge", "sync", "hub", "pages")}
    for name, source in runnable.items():
        assert "from bench_record import" in source and "record(" in source, name
    assert {f"bench_{name}" for name in benchmarks.BENCHES} == set(runnable)
    assert [argv[0] for argv in benchmarks.BENCHES.values()] == [
        f"bench_{name}.py" for name in benchmarks.BENCHES
    ]


def test_scripts_bench_runs_each_bench_reports_and_fails_when_one_fails(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two stand-in benches, one that records a figure 30 % worse than before and one that
    crashes: the summary flags the first, the table is written, the exit status is 1."""
    path, page = tmp_path / "benchmarks.csv", tmp_path / "performance.md"
    page.write_text(f"{bench_docs.BEGIN}{bench_docs.END}\n")
    record("ok", [lower("p99", 10.0, "ms")], {"runs": 3}, path)
    (tmp_path / "bench_ok.py").write_text(
        f"import sys; sys.path.insert(0, {str(ROOT / 'scripts')!r})\n"
        "from pathlib import Path; from bench_record import lower, record\n"
        f"record('ok', [lower('p99', 13.0, 'ms')], {{'runs': 3}}, Path({str(path)!r}))\n"
    )
    (tmp_path / "bench_boom.py").write_text("raise SystemExit(3)\n")
    monkeypatch.setattr(benchmarks, "SCRIPTS", tmp_path)
    monkeypatch.setattr(benchmarks, "BENCHES", {"ok": ["bench_ok.py"], "boom": ["bench_boom.py"]})
    monkeypatch.setattr(benchmarks, "CSV", path)
    monkeypatch.setattr(benchmarks, "PAGE", page)
    capfd.readouterr()
    assert benchmarks.main([]) == 1
    out = capfd.readouterr().out
    assert "13 ms (was 10 on " in out and "WORSE by 30 %" in out
    summary = out.split("recorded in benchmarks.csv:\n", 1)[1].splitlines()
    assert summary[1].split() == ["ok", "p99", "13", "ms", "10", "ms", "+30.0", "%", "WORSE"]
    assert summary[-1] == "FAILED: boom (exit status 3)"
    assert "| **ok** | p99 | 13 ms | 10 - 13 (2 runs) |" in page.read_text()
    assert benchmarks.main(["ok", "--list"]) == 0
    assert capfd.readouterr().out.split() == ["ok", str(tmp_path / "bench_ok.py")]


def test_bench_hub_runs_on_postgresql_only_where_pg_ctl_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(benchmarks, "postgresql", lambda: False)
    assert "--db" not in benchmarks.command("hub")
    monkeypatch.setattr(benchmarks, "postgresql", lambda: True)
    assert benchmarks.command("hub")[-2:] == ["--db", "auto"]
