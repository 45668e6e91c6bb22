"""Playout timing and arbitration with a recording stand-in output (no sound, real threads and clocks)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from broadcast import protocol
from edge_agent.outputs import Output, PlayRequest
from edge_agent.playout import Outcome, Playout


class RecordingOutput(Output):
    """Note when each play starts and stays busy for the clip's duration, like the file sink."""

    def __init__(self) -> None:
        self.starts: dict[str, float] = {}

    def play(self, request: PlayRequest, started: Callable[[float], None], stop: threading.Event) -> None:
        at = time.time()
        self.starts[request.command.id] = at
        started(at)
        stop.wait(request.command.clip.duration_s)


class Harness:
    def __init__(self, late_tolerance_s: float = 2.0) -> None:
        self.output = RecordingOutput()
        self.reports: list[protocol.AgentMessage] = []
        self.done: dict[str, Outcome] = {}
        self.started: list[str] = []
        self.finished = threading.Condition()
        self.playout = Playout(
            self.output,
            "loa-01",
            self.reports.append,
            self._on_done,
            late_tolerance_s,
            on_started=lambda command: self.started.append(command.id),
        )

    def _on_done(self, command: protocol.PlayCommand, outcome: Outcome) -> None:
        with self.finished:
            self.done[command.id] = outcome
            self.finished.notify_all()

    def schedule(
        self,
        command_id: str,
        start_in: float,
        duration_s: float = 0.1,
        priority: protocol.Priority = "normal",
    ) -> protocol.PlayCommand:
        now = time.time()
        command = protocol.PlayCommand(
            id=command_id,
            seq=1,
            issued_at=now,
            expires_at=now + max(start_in, 0) + 30,
            start_at=now + start_in,
            priority=priority,
            zones=("thon-1",),
            clip=protocol.ClipRef("http://s/c.mp3", "0" * 64, 1, duration_s),
        )
        self.playout.schedule(PlayRequest(command, Path("/nonexistent"), "loa-01"))
        return command

    def wait_done(self, *ids: str, timeout: float = 5.0) -> None:
        with self.finished:
            assert self.finished.wait_for(lambda: all(i in self.done for i in ids), timeout), self.done

    def rejections(self) -> dict[str, str]:
        return {r.command_id: r.reason for r in self.reports if isinstance(r, protocol.CommandRejected)}


@pytest.fixture
def harness() -> Iterator[Harness]:
    h = Harness()
    h.playout.start()
    yield h
    h.playout.stop()


def test_starts_at_start_at_and_reports(harness: Harness) -> None:
    command = harness.schedule("a", start_in=0.3)
    harness.wait_done("a")
    assert abs(harness.output.starts["a"] - command.start_at) < 0.02
    (report,) = harness.reports
    assert isinstance(report, protocol.PlayReport)
    assert (report.command_id, report.device_id, report.started_at) == (
        "a",
        "loa-01",
        harness.output.starts["a"],
    )
    assert harness.done == {"a": "played"}
    assert harness.started == ["a"]


def test_plays_in_start_order_not_arrival_order(harness: Harness) -> None:
    late = harness.schedule("late", start_in=0.5)
    early = harness.schedule("early", start_in=0.2)
    harness.wait_done("late", "early")
    assert list(harness.output.starts) == ["early", "late"]
    assert abs(harness.output.starts["early"] - early.start_at) < 0.02
    assert abs(harness.output.starts["late"] - late.start_at) < 0.02


def test_missed_start_is_skipped_and_reported(harness: Harness) -> None:
    harness.schedule("stale", start_in=-3)  # fetched too late: playing now would echo
    harness.schedule("slightly-late", start_in=-0.5)
    harness.wait_done("stale", "slightly-late")
    assert harness.done == {"stale": "skipped", "slightly-late": "played"}
    assert harness.started == ["slightly-late"]
    assert harness.rejections()["stale"].startswith("missed start")
    assert "stale" not in harness.output.starts


def test_same_priority_waits_for_the_output(harness: Harness) -> None:
    first = harness.schedule("first", start_in=0.1, duration_s=0.5)
    harness.schedule("second", start_in=0.2)
    harness.wait_done("first", "second")
    assert harness.done == {"first": "played", "second": "played"}
    assert harness.output.starts["second"] >= first.start_at + 0.5


def test_waiting_too_long_for_a_busy_output_is_a_missed_start() -> None:
    h = Harness(late_tolerance_s=0.3)
    h.playout.start()
    try:
        h.schedule("long", start_in=0.1, duration_s=1.0)
        h.schedule("blocked", start_in=0.2)
        h.wait_done("long", "blocked")
    finally:
        h.playout.stop()
    assert h.done == {"long": "played", "blocked": "skipped"}
    assert "missed start" in h.rejections()["blocked"]


def test_emergency_interrupts_normal_on_time(harness: Harness) -> None:
    harness.schedule("bulletin", start_in=0.1, duration_s=5)
    alert = harness.schedule("alert", start_in=0.4, priority="emergency")
    harness.wait_done("bulletin", "alert")
    assert harness.done == {"bulletin": "interrupted", "alert": "played"}
    assert abs(harness.output.starts["alert"] - alert.start_at) < 0.02


def test_stop_interrupts_and_leaves_pending_plays_unfinished() -> None:
    h = Harness()
    h.playout.start()
    h.schedule("playing", start_in=0, duration_s=10)
    h.schedule("later", start_in=60)
    time.sleep(0.2)
    before = time.time()
    h.playout.stop()
    assert time.time() - before < 1
    assert h.done == {"playing": "interrupted"}  # "later" stays in the persisted programme
