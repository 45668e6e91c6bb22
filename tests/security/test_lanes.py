"""Executors of the alert path and of password hashing: bounded lanes refuse at once, never queue more."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest

from broadcast.limits.lanes import HASH_NICE, AlertLane, BoundedLane, LaneFull


def test_a_full_lane_refuses_at_once_and_takes_work_again_when_it_drains() -> None:
    lane = BoundedLane("test", workers=1, queue=1)
    release = threading.Event()
    try:
        running = lane.submit(release.wait)
        queued = lane.submit(lambda: 42)
        with pytest.raises(LaneFull):
            lane.submit(lambda: 0)
        release.set()
        assert running.result(timeout=5) is True
        assert queued.result(timeout=5) == 42
        assert lane.submit(lambda: 7).result(timeout=5) == 7
    finally:
        release.set()
        lane.shutdown()


def test_hashing_threads_run_at_a_lower_priority() -> None:
    lane = BoundedLane("test", workers=1, queue=0, low_priority=True)
    try:
        nice = lane.submit(lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id())).result(5)
    finally:
        lane.shutdown()
    assert nice >= min(19, os.getpriority(os.PRIO_PROCESS, 0) + HASH_NICE)


def test_the_alert_lane_runs_while_the_default_pool_is_saturated() -> None:
    """Fill the loop's default executor with blocked work; the alert lane still answers at once."""
    lane = AlertLane(2)
    release = threading.Event()

    async def scenario() -> str:
        loop = asyncio.get_running_loop()
        blocked = [loop.run_in_executor(None, release.wait) for _ in range(64)]
        try:
            return await asyncio.wait_for(lane.run(lambda: threading.current_thread().name), 5)
        finally:
            release.set()
            await asyncio.gather(*blocked)

    try:
        assert asyncio.run(scenario()).startswith("alert")
    finally:
        release.set()
        lane.shutdown()
