"""The hub reads and hashes a backlog's batches in a process of its own (`hub.preparing`): what
that process makes of every batch a rogue post can send is exactly what the ingest worker makes
of it; fifty posts' batches at once are given to it in the order the groups take them; a killed
process loses no batch (the worker prepares them itself and starts another at the next backlog);
and the process does not outlive a hub killed with SIGKILL."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections import deque
from multiprocessing.process import BaseProcess
from pathlib import Path

import pytest
from pydantic import ValidationError

from hub import ingest
from hub.preparing import AHEAD, Arrived, Preparer
from schemas import messages
from schemas.canonical import canonical_json
from schemas.messages import UnreadableMessage, read_batch
from schemas.prepared import Prepared, prepare
from tests.helpers import wait_until
from tests.test_ingest_hardening import batch, chain, events_cases, visit_data, visit_pii

Waiting = dict[tuple[str, str], deque[Arrived]]


def backlog(raws: list[bytes]) -> Waiting:
    return {("harbour-view", "rogue"): deque(Arrived(raw) for raw in raws)}


def given_ahead(preparer: Preparer, waiting: Waiting, expected: int) -> int:
    """Start the process (it answers once it is up), then give it the batches to prepare (a
    process that broke meanwhile is started again, as at the hub's next backlog)."""
    wait_until(
        lambda: preparer.ahead(waiting) or waiting_ahead(waiting) >= expected, 60, "the process"
    )
    return waiting_ahead(waiting)


def waiting_ahead(waiting: Waiting) -> int:
    return sum(arrived.ahead is not None for batches in waiting.values() for arrived in batches)


def same(a: Prepared | UnreadableMessage, b: Prepared | UnreadableMessage) -> bool:
    if isinstance(a, UnreadableMessage) or isinstance(b, UnreadableMessage):
        return type(a) is type(b) and str(a) == str(b)
    return a == b


def good_batches(count: int) -> list[bytes]:
    raws, prev, start = [], "0" * 64, 1
    for n in range(count):
        events = chain(
            ("visit.registered", visit_data(), visit_pii(f"Visitor {n}")),
            ("visit.registered", visit_data(unit="3B"), None),
            start=start,
            prev=prev,
        )
        prev, start = events[-1]["hash"], start + len(events)
        raws.append(batch("rogue", events))
    return raws


def test_what_the_process_prepares_is_what_the_worker_would() -> None:
    raws = good_batches(3) + events_cases("rogue")
    waiting = backlog(raws)
    preparer = Preparer()
    try:
        assert given_ahead(preparer, waiting, min(AHEAD, len(raws))) == min(AHEAD, len(raws))
        taken = [preparer.take(arrived) for arrived in waiting.pop(("harbour-view", "rogue"))]
    finally:
        preparer.close()
    assert all(isinstance(result, Prepared) for result in taken[:3])
    assert sum(isinstance(result, UnreadableMessage) for result in taken) > 20
    assert [n for n, raw in enumerate(raws) if not same(taken[n], prepare(raw))] == []


def door_batches() -> list[bytes]:
    """Door events whose float field holds an integer, a float and nothing, one without it, and
    one with a string there."""
    data = {
        "door": "lobby",
        "kind": "held_open",
        "visit_id": None,
        "occurred_at": "2026-11-30T10:00:00.000+00:00",
        "by": "system:edge",
    }
    return [
        batch("rogue", chain(("door.event", {**data, **extra}, None)))
        for extra in ({"duration_s": 3}, {"duration_s": 2.5}, {"duration_s": None}, {})
    ] + [batch("rogue", chain(("door.event", {**data, "duration_s": "3"}, None)))]


def test_a_batch_is_read_as_the_events_model_checks_it_and_as_it_was_sent() -> None:
    """`read_batch` reads the message straight into dicts: it refuses what the events' models
    refuse, at the same field, and what it accepts holds exactly what was sent (no default
    filled in, an integer duration still an integer: the values the chain is hashed on)."""
    refused, kept = 0, 0
    for raw in good_batches(2) + door_batches() + events_cases("rogue"):
        try:
            sent = messages.read_json(raw, messages.MAX_BATCH_BYTES)
            messages.BatchIn.model_validate(sent, strict=True)
        except (UnreadableMessage, ValidationError) as exc:
            model = messages._reason(exc) if isinstance(exc, ValidationError) else str(exc)
            with pytest.raises(UnreadableMessage) as read:
                read_batch(raw)
            # the same field named (a model's type error is a dict's here)
            assert str(read.value).rpartition(": ")[0] == model.rpartition(": ")[0], raw
            refused += 1
            continue
        assert canonical_json(read_batch(raw)) == canonical_json(sent), raw  # 3 is not 3.0
        kept += 1
    assert kept >= 2 + 4 and refused > 50  # a rogue post's batches of the right shape pass


def test_a_killed_process_loses_no_batch_and_another_is_started() -> None:
    raws = good_batches(8)
    waiting = backlog(raws)
    preparer = Preparer()
    before = {p.pid for p in preparer_processes()}  # another test's, still ending
    try:
        assert given_ahead(preparer, waiting, 8) == 8
        [pid] = [p.pid for p in preparer_processes() if p.pid not in before]
        os.kill(pid, signal.SIGKILL)
        taken = [preparer.take(arrived) for arrived in waiting.pop(("harbour-view", "rogue"))]
        assert taken == [prepare(raw) for raw in raws]
        again = backlog(raws)
        assert given_ahead(preparer, again, 8) == 8  # a new process at the next backlog
        assert {p.pid for p in preparer_processes()} - before - {pid}
        assert [preparer.take(a) for a in again[("harbour-view", "rogue")]] == taken
    finally:
        preparer.close()


def test_fifty_posts_reconnecting_at_once_have_every_batch_prepared_ahead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Hundreds of batches come at once, each post's window in a row, and more as posts are
    acked, but groups take one of each post's in turn: the process is given them in that
    turn, not as they came, so none is left to the ingest worker while the process prepares
    batches far behind."""
    raws = good_batches(6)
    monkeypatch.setattr(ingest, "MAX_GROUP_BYTES", 8 * len(raws[0]))  # eight batches a group
    unsent = {("harbour-view", f"post-{n:02d}"): deque(raws) for n in range(50)}
    preparer = Preparer()
    waiting: Waiting = {}
    in_worker = 0

    def send(post: tuple[str, str], count: int) -> None:
        for _ in range(min(count, len(unsent[post]))):
            arrived = Arrived(unsent[post].popleft())
            preparer.arrived(arrived)
            waiting.setdefault(post, deque()).append(arrived)

    try:
        preparer.start()
        wait_until(lambda: preparer.ahead({}) or preparer.is_up(), 60, "the process")
        for post in unsent:  # each post's window at once
            send(post, 3)
        while waiting:
            preparer.ahead(waiting)
            group = ingest.next_group(waiting)
            in_worker += sum(arrived.ahead is None for _, _, arrived in group)
            assert all(isinstance(preparer.take(arrived), Prepared) for _, _, arrived in group)
            for site, device, _ in group:  # acked: each sends its next batch
                send((site, device), 1)
    finally:
        preparer.close()
    assert in_worker == 0


def preparer_processes() -> list[BaseProcess]:
    return [p for p in multiprocessing.active_children() if p.is_alive()]


HUB_THAT_DIES = """
import multiprocessing, os, signal, sys, time
from collections import deque
from multiprocessing.process import BaseProcess
from hub.preparing import Arrived, Preparer
preparer = Preparer()
waiting = {("s", "d"): deque(Arrived(b"{}") for _ in range(8))}
while not any(a.ahead for a in waiting[("s", "d")]):
    preparer.ahead(waiting)
    time.sleep(0.05)
print(*[p.pid for p in multiprocessing.active_children()], flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_the_process_does_not_outlive_a_killed_hub() -> None:
    out = subprocess.run(
        [sys.executable, "-c", HUB_THAT_DIES],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert out.returncode == -signal.SIGKILL, out.stderr
    [pid] = [int(p) for p in out.stdout.split()]
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pid)
