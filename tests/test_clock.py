"""A wrong clock must never erase personal data (issue 12, point 5, the post's half): a post
restarted a year ahead keeps the visitors registered a minute earlier; a clock behind the
logbook refuses to purge. The real service and CLI under Debian's libfaketime."""

from __future__ import annotations

import glob
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from .helpers import EdgeServer, init_post, run_edge

LIBFAKETIME = next(iter(sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))), None)
VISIT = {"visitor_name": "李小明", "unit": "12A", "category": "guest", "phone": "91234567"}


def faked(offset: str) -> dict[str, str]:
    """The environment that runs a child with its clock moved by `offset` (e.g. `+365d`)."""
    if LIBFAKETIME is None:
        pytest.skip(
            "libfaketime is not installed (Debian package faketime; scripts/test installs it)"
        )
    # monotonic time stays true: only the wall clock is wrong, as on a Pi without an RTC
    return {
        "LD_PRELOAD": LIBFAKETIME,
        "FAKETIME": offset,
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "FAKETIME_NO_CACHE": "1",
    }


def names(data: Path) -> dict[str, str | None]:
    conn = sqlite3.connect(f"file:{data / 'guardpost.db'}?mode=ro", uri=True)
    try:
        return {r[0]: r[1] for r in conn.execute("SELECT id, visitor_name FROM visits")}
    finally:
        conn.close()


def register(data: Path, env: dict[str, str] | None = None) -> tuple[str, str]:
    """Serve the post (under `env`), register one visitor; (visit id, the home page's text
    as the guard saw it before registering)."""
    edge = EdgeServer(data, env=env or {}).start()
    try:
        token = edge.login()
        home = httpx.get(f"{edge.url}/?lang=en", cookies={"gp_session": token}, timeout=30)
        with edge.client(token) as api:
            answer = api.post("/visits", json=VISIT)
            assert answer.status_code == 201, answer.text
        return str(answer.json()["id"]), home.text
    finally:
        edge.stop()


def test_a_clock_a_year_ahead_keeps_visitors_registered_a_minute_earlier(tmp_path: Path) -> None:
    ahead = faked("+365d")
    data = tmp_path / "post"
    init_post(data)
    before, _ = register(data)
    # restarted a year ahead: the daily purge runs at start, a guard registers someone
    after, home = register(data, ahead)
    assert names(data) == {before: "李小明", after: "李小明"}
    assert "The clock is 365 days past the last logbook entry: check the date and time" in home
    result = run_edge("purge", "--data", str(data), env=ahead)
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "purged personal data of 0 visits (0 events) older than 30 days\n",
        "",
    )
    assert names(data) == {before: "李小明", after: "李小明"}
    assert run_edge("verify", "--data", str(data), env=ahead).returncode == 0


def test_a_clock_behind_the_logbook_refuses_to_purge(tmp_path: Path) -> None:
    behind = faked("-365d")
    data = tmp_path / "post"
    init_post(data)
    visit, _ = register(data)
    result = run_edge("purge", "--data", str(data), env=behind)
    assert names(data) == {visit: "李小明"}
    assert result.returncode == 2 and result.stdout == ""
    assert re.fullmatch(
        r"Error: the clock \(\S+\) is behind the newest logbook event \(seq 1, \S+\); purge "
        r"refused: set the clock, then purge again\n",
        result.stderr,
    ), result.stderr
    # served with that clock: the daily purge is skipped and the status bar says why
    edge = EdgeServer(data, env=behind).start()
    try:
        home = httpx.get(
            f"{edge.url}/?lang=en", cookies={"gp_session": edge.login()}, timeout=30
        ).text
        assert "The clock is behind the logbook: check the date and time" in home
    finally:
        edge.stop()
    assert "retention purge skipped" in edge.output()
    assert names(data) == {visit: "李小明"}


# ---- the rule itself (edge.logbook.purge_cutoff) ---------------------------------------------

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
THIRTY = timedelta(days=30)


def test_the_cutoff_follows_the_clock_when_it_is_right() -> None:
    from edge.logbook import purge_cutoff

    stamps = [T0 + i * DAY for i in range(60)]  # a busy post, one event a day
    now = stamps[-1] + timedelta(hours=1)
    assert purge_cutoff(stamps, now, THIRTY) == now - THIRTY


def test_a_jump_ahead_counts_nothing_and_log_time_goes_on_from_there() -> None:
    from edge.logbook import purge_cutoff

    stamps = [T0 + i * DAY for i in range(10)]
    jumped = stamps[-1] + timedelta(days=365)
    # restarted a year ahead: nothing before the jump is old by the log
    assert purge_cutoff(stamps, jumped, THIRTY) == stamps[0]
    # 40 more days of events under the wrong clock: the records before the jump are as old
    # as the log says (31 to 40 days since the jump), the first ten log days are not yet
    later = stamps + [jumped + i * DAY for i in range(40)]
    cutoff = purge_cutoff(later, later[-1], THIRTY)
    assert cutoff == jumped + 9 * DAY  # every record before it is over 30 days old by the log


def test_a_gap_of_days_without_events_delays_the_purge_and_never_hastens_it() -> None:
    from edge.logbook import purge_cutoff

    stamps = [T0, T0 + 10 * DAY]  # the post was off for ten days
    now = T0 + 35 * DAY
    # by the clock T0 is 35 days old; by the log only 26 (ten idle days counted as none)
    assert purge_cutoff(stamps, now, THIRTY) == T0
