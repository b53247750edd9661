"""The writer's jobs, and how each caller hears that its job is on disk.

A thread (the CLI, a background job) waits on a `concurrent.futures.Future`. A request's
coroutine awaits an asyncio future that the writer settles on the request's event loop: one
wakeup of the loop for all the requests of a group, where a chained `Future` would cost a
condition, a callback and a wakeup for each."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

Settled = tuple["asyncio.Future[Any]", Any, BaseException | None]


@dataclass
class Job:
    """One piece of work for the writer, and its caller's future: `future` for a thread,
    `waiter` for a coroutine (on the loop that made it)."""

    work: Callable[[sqlite3.Connection], Any]
    future: Future[Any] | None = None
    waiter: asyncio.Future[Any] | None = None


def settle(outcomes: Iterable[tuple[Job, Any, BaseException | None]]) -> None:
    """Give each job's caller its result, or its error: a thread's future at once, the
    coroutines' futures in one call on each of their loops."""
    on_loops: dict[asyncio.AbstractEventLoop, list[Settled]] = {}
    for job, result, error in outcomes:
        if job.waiter is not None:
            on_loops.setdefault(job.waiter.get_loop(), []).append((job.waiter, result, error))
        elif job.future is not None and not job.future.done():
            if error is None:
                job.future.set_result(result)
            else:
                job.future.set_exception(error)
    for loop, settled in on_loops.items():
        try:
            loop.call_soon_threadsafe(_settle_on_loop, settled)
        except RuntimeError:  # the loop is closed: nobody waits for these any more
            pass


def _settle_on_loop(settled: list[Settled]) -> None:
    for waiter, result, error in settled:
        if waiter.done():  # the request was cancelled meanwhile (its work is committed)
            continue
        if error is None:
            waiter.set_result(result)
        else:
            waiter.set_exception(error)
