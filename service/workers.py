"""The two loops behind the services' worker threads: take a group of jobs off a queue (the
edge's writer, the hub's ingest), and do something every few seconds until told to stop (the
hub's escalation and its resending of down messages)."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def take_group(
    jobs: queue.Queue[T | None] | queue.SimpleQueue[T | None], most: int
) -> tuple[list[T], bool]:
    """Wait for one job, then take what else is already waiting, up to `most`. A `None` in the
    queue asks the worker to stop: the jobs before it still come as a group, and the second
    value says that this group is the last."""
    first = jobs.get()
    if first is None:
        return [], True
    group = [first]
    while len(group) < most:
        try:
            more = jobs.get_nowait()
        except queue.Empty:
            break
        if more is None:
            return group, True
        group.append(more)
    return group, False


def run_every(
    interval_s: float,
    stop: threading.Event,
    tasks: list[tuple[Callable[[], object], str]],
    log: logging.Logger,
) -> None:
    """Run each task every `interval_s` until `stop` is set. A task that fails is logged with
    its message and tried again next time; it never ends the loop or keeps the others from
    running."""
    while not stop.wait(interval_s):
        for task, failure in tasks:
            try:
                task()
            except Exception:
                log.exception(failure)
