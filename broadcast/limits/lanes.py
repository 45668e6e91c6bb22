"""Executors that keep the alert path apart from everything else (password hashing, page rendering).

FastAPI runs sync routes and dependencies in one anyio thread pool (40 threads); a login flood hashing
argon2id there, or a burst of page renders, queued an officer's alert behind them. Alerts get a pool of
their own; password hashing gets small bounded lanes that refuse at once when full instead of queueing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)
HASH_NICE = 10  # hashing threads yield the CPU to synthesis and publishing (Linux nice is per thread)


def _lower_priority() -> None:
    """Run this worker thread (and the argon2 threads it starts) at a lower CPU priority."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_NICE)
    except (AttributeError, OSError):  # not Linux, or not allowed: the cap still bounds the work
        log.debug("could not lower the priority of a hashing thread")


class LaneFull(Exception):
    """Raised when a bounded lane already holds as much work as it may queue."""


class BoundedLane:
    """A thread pool that holds at most `workers + queue` calls; one more is refused, never queued."""

    def __init__(self, name: str, workers: int, queue: int, *, low_priority: bool = False) -> None:
        self.name = name
        self.capacity = workers + queue
        self._slots = threading.BoundedSemaphore(self.capacity)
        initializer = _lower_priority if low_priority else None
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix=name, initializer=initializer)

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        """Start fn, or raise LaneFull at once when the lane is full."""
        if not self._slots.acquire(blocking=False):
            raise LaneFull(self.name)
        try:
            future = self._pool.submit(fn)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _f: self._slots.release())
        return future

    async def run(self, fn: Callable[[], T]) -> T:
        """Await fn's result from an async route (LaneFull at once when full)."""
        return await asyncio.wrap_future(self.submit(fn))

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class AlertLane:
    """The alert routes' own threads: their database work, synthesis and publishing wait for nobody."""

    def __init__(self, workers: int) -> None:
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="alert")

    async def run(self, fn: Callable[[], T]) -> T:
        """Run fn on an alert thread and await its result."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


@dataclass
class Lanes:
    """The station's executors: alerts, and two hashing lanes (strangers; browsers known to an account)."""

    alerts: AlertLane
    strangers: BoundedLane
    trusted: BoundedLane

    def shutdown(self) -> None:
        for lane in (self.alerts, self.strangers, self.trusted):
            lane.shutdown()


def build_lanes(alert_workers: int, hash_workers: int, hash_queue: int, trusted_workers: int) -> Lanes:
    """Return the station's lanes with the sizes the settings give."""
    return Lanes(
        alerts=AlertLane(alert_workers),
        strangers=BoundedLane("hash-stranger", hash_workers, hash_queue, low_priority=True),
        trusted=BoundedLane("hash-trusted", trusted_workers, hash_queue, low_priority=True),
    )
