"""Play scheduled clips and stream relays at their absolute start time; higher priority interrupts lower."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from broadcast import protocol
from edge_agent.outputs import Output, PlayRequest
from edge_agent.outputs.live import Cause, LiveFeed
from edge_agent.outputs.stream import PartialPlay

log = logging.getLogger(__name__)

# "stopped": the agent shut down before the play began, so it stays in the persisted programme.
Outcome = Literal["played", "interrupted", "skipped", "failed", "stopped"]
RANK = {"normal": 0, "priority": 1, "emergency": 2}
LIVE_RANK = 1.5  # a live voice cuts into the programme (normal and priority); an emergency cuts into it
# Speakers of a zone must start together: a clip this late would echo against its neighbours.
LATE_TOLERANCE_S = 2.0
_FINE_S = 0.05  # the player wakes this early, then waits precisely
_SPIN_S = 0.002  # below this, Event.wait overshoots more than a busy wait costs
# A live relay joined late still ends on time (a radio programme is heard from where it is); one that
# would play less than this is skipped instead.
_MIN_JOIN_S = 5.0
# A relay is picked this early when the output is idle, so its stream is open by start_at (prepare()).
_WARM_S = 1.5


@dataclass(order=True)
class _Item:
    start_at: float
    seq: int
    request: PlayRequest = field(compare=False)

    @property
    def command(self) -> protocol.PlayCommand:
        return self.request.command

    @property
    def rank(self) -> float:
        return LIVE_RANK if self.request.live is not None else RANK[self.command.priority]

    def late_limit(self, tolerance_s: float) -> float:
        """Return the latest time this item may still start (a live session: until its lease ends)."""
        if self.request.live is not None:
            return self.request.live.lease_until
        if self.request.stream is not None:
            tolerance_s = max(tolerance_s, self.request.stream.duration_s - _MIN_JOIN_S)
        return self.start_at + tolerance_s


@dataclass
class _Playing:
    item: _Item
    previous: _Playing | None
    interrupt: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    reason: str = ""  # why it was interrupted, when the station must hear it (an alert took the output)


class Playout:
    """Pending plays ordered by start_at, one player thread, one output."""

    def __init__(
        self,
        output: Output,
        device_id: str,
        report: Callable[[protocol.AgentMessage], None],
        on_done: Callable[[protocol.PlayCommand, Outcome], None] = lambda command, outcome: None,
        late_tolerance_s: float = LATE_TOLERANCE_S,
        on_started: Callable[[protocol.PlayCommand], None] = lambda command: None,
    ) -> None:
        self.output = output
        self.device_id = device_id
        self.late_tolerance_s = late_tolerance_s
        self._report = report
        self._on_done = on_done
        self._on_started = on_started
        self._cond = threading.Condition()
        self._heap: list[_Item] = []
        self._seq = itertools.count()
        self._current: _Playing | None = None
        self._holds = 0  # alerts holding the output: nothing scheduled starts meanwhile
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="player", daemon=True)

    def start(self) -> None:
        """Start the player thread."""
        self._thread.start()

    def schedule(self, request: PlayRequest) -> None:
        """Add a play; it starts at request.command.start_at."""
        with self._cond:
            heapq.heappush(self._heap, _Item(request.command.start_at, next(self._seq), request))
            self._cond.notify_all()

    def cancel(self, command_id: str) -> PlayRequest | None:
        """Remove a scheduled play that has not started; return it, or None if it is not waiting."""
        with self._cond:
            for item in self._heap:
                if item.command.id == command_id:
                    self._heap.remove(item)
                    heapq.heapify(self._heap)
                    self._cond.notify_all()
                    return item.request
        return None

    def hold(self, reason: str, timeout: float = 1.0) -> None:
        """Interrupt what plays, start nothing scheduled until release(); return once the output is free."""
        with self._cond:
            self._holds += 1
            current = self._current
            if current is not None:
                log.info("%s interrupts command %s", reason, current.item.command.id)
                current.reason = current.reason or reason
                current.interrupt.set()
            self._cond.notify_all()
        if current is not None and current.thread is not None:
            current.thread.join(timeout)

    def release(self) -> None:
        """End one hold(); scheduled plays start again (those whose time passed are skipped as usual)."""
        with self._cond:
            self._holds = max(0, self._holds - 1)
            self._cond.notify_all()

    def pending_shas(self) -> set[str]:
        """Return the clips still needed by scheduled or playing commands (not to be evicted)."""
        with self._cond:
            items = [*self._heap, *([self._current.item] if self._current else [])]
            return {item.command.clip.sha256 for item in items}

    def now_playing(self) -> str | None:
        """Return the id of the command on the output now (or about to start), if any."""
        with self._cond:
            return self._current.item.command.id if self._current else None

    def is_alive(self) -> bool:
        """Return True while the player thread runs."""
        return self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        """Interrupt the current play, drop pending ones (they stay persisted) and end the threads."""
        with self._cond:
            self._stopping = True
            current = self._current
            if current is not None:
                current.reason = current.reason or "cut short: the agent was stopped during the play"
                current.interrupt.set()
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if current is not None and current.thread is not None:
            current.thread.join(timeout)

    def _run(self) -> None:
        while True:
            launch: _Playing | None = None
            with self._cond:
                if self._stopping:
                    return
                now = time.time()
                missed = self._pop_missed(now)
                picked = None if missed or self._holds else self._pick(now)
                if picked is not None:
                    launch = _Playing(picked, previous=self._current)
                    if self._current is not None:
                        log.info(
                            "command %s interrupts command %s",
                            picked.command.id,
                            self._current.item.command.id,
                        )
                        if picked.request.live is not None:
                            session = picked.request.live.session_id
                            self._current.reason = f"interrupted by live broadcast {session}"
                        self._current.interrupt.set()
                    self._current = launch
                elif not missed:
                    self._cond.wait(self._wait_time(now))
                    continue
            for item, reason in missed:
                self._skip(item, reason)
            if launch is not None:
                launch.thread = threading.Thread(target=self._play, args=(launch,), name="play", daemon=True)
                launch.thread.start()

    def _pop_missed(self, now: float) -> list[tuple[_Item, str]]:
        """Remove the items that can no longer start on time, each with the reason ("" = not reported)."""
        live = self._current.item.request.live if self._current is not None else None
        missed = []
        for item in self._heap:
            reason = self._missed(item, now, live)
            if reason is not None:
                missed.append((item, reason))
        if missed:
            gone = {id(item) for item, _ in missed}
            self._heap = [item for item in self._heap if id(item) not in gone]
            heapq.heapify(self._heap)
        return missed

    def _missed(self, item: _Item, now: float, live: LiveFeed | None) -> str | None:
        """Return why item can no longer start (None: it still may)."""
        feed = item.request.live
        if feed is not None:
            if feed.leaving():
                return ""  # stopped (or its lease ran out) before it reached the output: nothing to say
            return "the live lease ran out before the output was free" if now > feed.lease_until else None
        # A clip due while a live voice is on the air is skipped at once: speakers leave a session a
        # little apart, and a clip starting late on each of them would echo. A relay may still join late.
        below = live is not None and item.rank < LIVE_RANK
        if live is not None and below and item.start_at <= now and item.request.stream is None:
            return f"skipped: live broadcast {live.session_id}"
        if now <= item.late_limit(self.late_tolerance_s) and now <= item.command.expires_at:
            return None
        if live is not None and below:
            return f"skipped: live broadcast {live.session_id}"
        if now > item.command.expires_at:
            return "expired before it could start"
        return f"missed start by {now - item.start_at:.1f} s"

    def _early(self) -> _Item | None:
        """Return the next item if it is a relay that may be picked _WARM_S ahead (idle output, no tie)."""
        if self._current is not None or not self._heap or self._heap[0].request.stream is None:
            return None
        first = self._heap[0]
        # heap[1:3] holds the next earliest: nothing else may be due while the stream is being opened.
        return None if any(item.start_at <= first.start_at for item in self._heap[1:3]) else first

    def _pick(self, now: float) -> _Item | None:
        """Remove and return the due item to start now, if the output may take it."""
        early = self._early()
        due = [item for item in self._heap if item.start_at - now <= (_WARM_S if item is early else _FINE_S)]
        if not due:
            return None
        best = max(due, key=lambda item: (item.rank, -item.start_at, -item.seq))
        current = self._current
        if current is not None and best.rank <= current.item.rank:
            return None  # the output is busy with something at least as important; wait for it to end
        self._heap.remove(best)
        heapq.heapify(self._heap)
        return best

    def _wait_time(self, now: float) -> float | None:
        """Return how long the player may sleep before something needs a decision."""
        if not self._heap:
            return None
        early = self._early()
        picks = [(item, item.start_at - (_WARM_S if item is early else _FINE_S)) for item in self._heap]
        waits = [
            pick_at - now
            if pick_at > now
            else item.start_at - now
            if item.start_at > now
            else item.late_limit(self.late_tolerance_s) - now
            for item, pick_at in picks
        ]
        return min(1.0, max(0.001, min(waits)))  # at most 1 s: a wall-clock step must not strand plays

    def _play(self, playing: _Playing) -> None:
        item, command = playing.item, playing.item.command
        outcome: Outcome = "failed"
        started = False

        def on_started(started_at: float) -> None:
            nonlocal started
            started = True
            self._on_started(command)
            log.info(
                "playing command %s (%+.0f ms from start_at)", command.id, (started_at - item.start_at) * 1000
            )
            self._report(
                protocol.PlayReport(
                    device_id=self.device_id,
                    command_id=command.id,
                    clip_sha256=command.clip.sha256,
                    started_at=started_at,
                    duration_s=command.clip.duration_s,
                    priority=command.priority,
                )
            )

        try:
            if playing.previous is not None and playing.previous.thread is not None:
                playing.previous.thread.join(timeout=5.0)
            playing.previous = None  # do not keep a chain of finished plays alive
            if item.request.live is None:
                self.output.prepare(item.request)
            _wait_until(item.start_at, playing.interrupt)
            late = time.time() - item.start_at
            if playing.interrupt.is_set() and self._stopping:
                outcome = "stopped"
            elif playing.interrupt.is_set():
                outcome = "interrupted"
                self._reject(command, playing.reason or "interrupted before start")
            elif time.time() > item.late_limit(self.late_tolerance_s):
                outcome = "skipped"
                self._reject(command, f"missed start by {late:.1f} s (output busy)")
            else:
                if item.request.live is not None:
                    self.output.live(item.request, on_started, playing.interrupt)
                elif item.request.stream is not None:
                    self.output.relay(item.request, on_started, playing.interrupt)
                else:
                    self.output.play(item.request, on_started, playing.interrupt)
                outcome = "interrupted" if playing.interrupt.is_set() else "played"
                log.info("command %s %s", command.id, outcome)
                if outcome == "interrupted" and playing.reason:
                    self._reject(command, playing.reason)  # cut short and not resumed: skipped
        except PartialPlay as exc:
            # Heard in part: the play report stands, and the station also learns what was missing.
            outcome = "interrupted" if playing.reason else "played"
            self._reject(command, playing.reason or str(exc))
        except Exception as exc:
            log.exception("output failed for command %s", command.id)
            if not started:
                self._reject(command, f"output failed: {exc}")
        finally:
            try:
                self.output.finish(item.request)  # undo a prepare() that went unused (interrupted, ...)
            except Exception:
                log.exception("output cleanup failed for command %s", command.id)
            if item.request.live is not None:
                # Interrupted (an alert, a shutdown): a later renewal rejoins. Failed: it does not.
                cause: Cause = "broken" if outcome == "failed" else "interrupted"
                item.request.live.finish(cause)  # the pump's own cause (stopped, lease, silent) stays
            with self._cond:
                if self._current is playing:
                    self._current = None
                self._cond.notify_all()
            self._on_done(command, outcome)

    def _skip(self, item: _Item, reason: str) -> None:
        if item.request.live is not None:
            item.request.live.finish("skipped")
        if reason:
            self._reject(item.command, reason)
        self._on_done(item.command, "skipped")

    def _reject(self, command: protocol.PlayCommand, reason: str) -> None:
        log.warning("not playing command %s: %s", command.id, reason)
        self._report(protocol.CommandRejected(device_id=self.device_id, command_id=command.id, reason=reason))


def _wait_until(deadline: float, interrupt: threading.Event) -> None:
    """Return at the wall-clock deadline (within about a millisecond) or as soon as interrupt is set."""
    while not interrupt.is_set():
        remaining = deadline - time.time()
        if remaining <= 0:
            return
        if remaining > _SPIN_S:
            interrupt.wait(remaining - _SPIN_S)
        else:
            time.sleep(0)  # yield while spinning the last couple of milliseconds
