"""Batches read and hashed (`schemas.prepared.prepare`) on another core while the ingest worker
stores the ones before them.

Reading a batch against the contract and hashing its events is about a third of the ingest
worker's time per event, and needs no database. While a backlog waits (a post back after a day
offline, hundreds of posts at once after the hub restarts), the batches are prepared ahead in a
process of its own, in parallel with the store's writing, which keeps the ingest thread. A
trickle of live batches is prepared in-process: the hop would only add latency. The process is
started at the first backlog and used once it is up (about a second later on a busy machine);
if it cannot start or dies, batches are prepared in-process and it is started again at the next
backlog. It dies with the hub (`PR_SET_PDEATHSIG`), also when the hub is killed.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from typing import Any

from schemas.messages import UnreadableMessage
from schemas.prepared import Prepared, prepare
from service.gc_tuning import collect_less

log = logging.getLogger(__name__)

BACKLOG = 4  # batches waiting: prepare ahead in the other process
AHEAD = 24  # batches prepared ahead and not yet taken, at most (about three groups)
TAKE_TIMEOUT_S = 30.0  # a batch takes milliseconds; longer, and the process is given up
PR_SET_PDEATHSIG = 1


def _die_with_the_hub(hub: int) -> None:
    """In the preparing process: SIGKILL when the hub's thread that started it ends, or now if
    the hub `hub` ended before this could be asked; and fewer garbage collections (a batch is
    thousands of dicts, freed when it is sent back)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (AttributeError, OSError):  # not Linux: the pool's own shutdown still ends it
        pass
    if os.getppid() != hub:
        os._exit(0)
    collect_less()


def _started() -> None:
    """Answered once the process is up."""


class Arrived:
    """A batch as it came, and its preparation in the other process once asked for."""

    __slots__ = ("raw", "ahead", "prepared")

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.ahead: Future[Prepared | UnreadableMessage] | None = None
        # taken once and put back (its post was busy at another hub process): kept as read
        self.prepared: Prepared | UnreadableMessage | None = None


def _in_turn(waiting: Mapping[Any, deque[Arrived]]) -> Iterator[Arrived]:
    """The batches in about the order `hub.ingest.next_group` takes them."""
    posts = list(waiting.values())
    for turn in range(max((len(batches) for batches in posts), default=0)):
        yield from (batches[turn] for batches in posts if len(batches) > turn)


class Preparer:
    """Prepares the ingest worker's batches. `arrived` is called on paho's network thread, the
    rest on the ingest worker's."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._up: Future[None] | None = None  # the process answered once: it is started
        self._ahead = 0  # batches given to the process and not taken yet
        self._waiting = 0  # batches arrived and not taken yet

    def is_up(self) -> bool:
        """The process is started and answers."""
        with self._lock:
            return self._up is not None and self._up.done()

    def arrived(self, arrived: Arrived) -> None:
        """A batch came: once the process is up, it starts on it at once, unless `AHEAD` or
        more wait already: those are given in the order they will be taken (`ahead`, in
        turn per post), so that the process is not busy with batches far behind while the
        next ones are read here (hundreds of posts reconnecting at once)."""
        with self._lock:
            self._waiting += 1
            behind = self._waiting > AHEAD
        if not behind:
            self._give(arrived)

    def ahead(self, waiting: Mapping[Any, deque[Arrived]]) -> None:
        """With a backlog waiting, start the process, or give it the batches to be taken next
        (each post's first, then each post's second, ...), up to `AHEAD` of them."""
        if sum(len(batches) for batches in waiting.values()) < BACKLOG:
            return
        if self._pool is None:
            self.start()
            return
        for arrived in islice(_in_turn(waiting), AHEAD):
            if not self._give(arrived):
                return

    def take(self, arrived: Arrived) -> Prepared | UnreadableMessage:
        """The batch prepared: as the other process did it, or here."""
        if arrived.prepared is not None:
            return arrived.prepared
        with self._lock:
            ahead, arrived.ahead = arrived.ahead, None
            if ahead is not None:
                self._ahead -= 1
            self._waiting = max(0, self._waiting - 1)  # a batch never announced: a test's
        if ahead is not None:
            try:
                return ahead.result(timeout=TAKE_TIMEOUT_S)
            except Exception:  # the process died, failed or hangs: prepare it here
                log.warning("batch preparing process failed; preparing in the ingest worker")
                self._stop()
        return prepare(arrived.raw)

    def close(self) -> None:
        self._stop()

    def _give(self, arrived: Arrived) -> bool:
        """Have the process prepare `arrived`; False when it cannot take more now."""
        with self._lock:
            if arrived.ahead is not None or arrived.prepared is not None:
                return True
            if self._pool is None or self._up is None or not self._up.done():
                return False  # not started, or starting: batches are prepared here meanwhile
            if self._ahead >= AHEAD:
                return False
            try:
                arrived.ahead = self._pool.submit(prepare, arrived.raw)
            except RuntimeError:  # the process died: prepared here, started again later
                log.warning("batch preparing process gone; preparing in the ingest worker")
                self._pool, self._up = None, None
                return False
            self._ahead += 1
            return True

    def start(self) -> None:
        """Start the process unless it is started (it answers `is_up` once it is)."""
        if self._pool is not None:
            return
        try:
            pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_die_with_the_hub,
                initargs=(os.getpid(),),
            )
            up = pool.submit(_started)
        except OSError as exc:  # no process to be had: everything is prepared here
            log.warning("could not start the batch preparing process", extra={"error": str(exc)})
            return
        with self._lock:
            self._pool, self._up = pool, up
        log.info("batch preparing process started")

    def _stop(self) -> None:
        with self._lock:
            pool, self._pool, self._up = self._pool, None, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
