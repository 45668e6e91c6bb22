"""The live pump: one live session's PCM, from snapclient to the output, until the agent leaves it.

A `LiveFeed` is what the playout plays for a live session. Its pump runs snapclient (restarting it if it
exits) and hands every PCM chunk to the output as it comes; it stops when it is asked to (live_stop, an
alert, shutdown), when the lease passes, when the stream has been silent for silence_s, or when
snapclient gave no PCM for BROKEN_S. Silent and broken ends raise, so the station hears why.
"""

from __future__ import annotations

import logging
import math
import operator
import sys
import threading
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from broadcast.protocol import LiveStartCommand
from edge_agent.outputs.base import OutputError
from edge_agent.outputs.ffmpeg import BYTES_PER_S
from edge_agent.outputs.snapclient import SnapSource, snapclient_command
from edge_agent.outputs.stream import PartialPlay

log = logging.getLogger(__name__)

# Why the agent left a session. "silent" and "broken" are final for the session (a renewal does not
# bring the agent back: the amplifier must not go on again for hum); after the others a renewal rejoins.
Cause = Literal["", "stopped", "lease", "silent", "broken", "interrupted", "skipped"]
FINAL: frozenset[Cause] = frozenset({"stopped", "silent", "broken"})
SILENCE_DBFS = -50.0  # below this RMS level a chunk counts as silence (a quiet room is about -60)
BROKEN_S = 5.0  # no PCM from snapclient, restarted meanwhile, for this long: the stream is broken
RESTART_S = 0.5
ANCHOR_S = 0.5  # when the first PCM was due is estimated over this much of it (see FirstSample)


def level_dbfs(pcm: bytes) -> float:
    """Return the RMS level of s16le PCM in dBFS (every other sample; -inf for digital silence)."""
    samples = array("h")
    samples.frombytes(pcm[: len(pcm) & ~1])
    if sys.byteorder == "big":
        samples.byteswap()
    picked = samples[::2]
    if not picked:
        return -math.inf
    power = sum(map(operator.mul, picked, picked)) / len(picked)
    return 10 * math.log10(power / 32768**2) if power else -math.inf


class SilenceMeter:
    """How long the PCM has stayed below SILENCE_DBFS, from the wall-clock times it arrived at."""

    def __init__(self, now: float) -> None:
        self.loud_at = now

    def feed(self, pcm: bytes, now: float) -> None:
        """Take one chunk that arrived at `now`."""
        if level_dbfs(pcm) >= SILENCE_DBFS:
            self.loud_at = now

    def silent_for(self, now: float) -> float:
        """Return the seconds since the last chunk that was not silence (or since the first chunk)."""
        return max(0.0, now - self.loud_at)


class FirstSample:
    """When the first PCM byte was due, from the arrival times of the first ANCHOR_S of PCM.

    snapclient writes PCM paced on the wall clock; each chunk says the first byte was due at (arrival -
    audio before it). A read the agent made late (its thread not scheduled at once, a busy Pi) only ever
    looks later, so the earliest of these estimates is the one with the least delay in it.
    """

    def __init__(self) -> None:
        self.at: float | None = None
        self.seen = 0
        self.told = False

    def take(self, size: int, now: float) -> float | None:
        """Count a chunk of size bytes that arrived at now; return the estimate once, when it is settled."""
        due = now - self.seen / BYTES_PER_S
        self.at = due if self.at is None else min(self.at, due)
        self.seen += size
        return self.settled() if self.seen >= ANCHOR_S * BYTES_PER_S else None

    def settled(self) -> float | None:
        """Return the estimate if PCM came and it was not returned yet (the feed ends early)."""
        if self.at is None or self.told:
            return None
        self.told = True
        return self.at


@dataclass(frozen=True)
class LiveResult:
    """What a live play delivered: when the first PCM went out, and how many seconds of it."""

    first_audio_at: float
    seconds: float


class LiveFeed:
    """One live session on this agent: the live_start that joined it, its lease, and why it ended."""

    def __init__(self, command: LiveStartCommand, snapclient: str, host_id: str, latency_ms: int = 0) -> None:
        self.command = command
        self.session_id = command.session_id
        self.argv = snapclient_command(snapclient, command.host, command.port, host_id, latency_ms)
        self.lease_until = command.lease_until
        self.silence_s = command.silence_s
        self.cause: Cause = ""
        self.reason = ""
        self._lock = threading.Lock()
        self._leave = threading.Event()
        self.done = threading.Event()  # the playout is finished with it (played, skipped, interrupted)

    def renew(self, command: LiveStartCommand) -> None:
        """Extend the lease (a later live_start of the same session); its silence bound applies."""
        with self._lock:
            self.lease_until = max(self.lease_until, command.lease_until)
            self.silence_s = command.silence_s

    def leave(self, cause: Cause, reason: str = "") -> None:
        """Ask the pump to stop (the first cause given is the one kept)."""
        with self._lock:
            if not self.cause:
                self.cause, self.reason = cause, reason
        self._leave.set()

    def leaving(self) -> bool:
        """Return True once the agent is leaving (or has left) the session."""
        return self._leave.is_set()

    def finish(self, cause: Cause) -> None:
        """Mark the feed over (called by the playout when it is done with it, whatever happened)."""
        self.leave(cause)
        self.done.set()

    def pump(
        self, write: Callable[[bytes], object], started: Callable[[float], None], stop: threading.Event
    ) -> LiveResult:
        """Copy PCM to write() until the agent leaves; raise for a silent or broken stream.

        started(t) is called once, after the first ANCHOR_S of PCM went out, with the time the first
        byte was due (FirstSample); write() gets every chunk at once.
        """
        first = FirstSample()
        first_at: float | None = None
        written = 0
        last_pcm = time.time()
        meter = SilenceMeter(last_pcm)
        error = ""
        while not (stop.is_set() or self._leave.is_set()):
            with SnapSource(self.argv) as source:
                for chunk in source.chunks(idle=True):
                    now = time.time()
                    if stop.is_set() or self._leave.is_set():
                        break
                    if now > self.lease_until:
                        self.leave("lease")
                        break
                    if chunk:
                        if first_at is None:
                            first_at = now
                            meter = SilenceMeter(now)
                        last_pcm = now
                        meter.feed(chunk, now)
                        write(chunk)
                        written += len(chunk)
                        if (due := first.take(len(chunk), now)) is not None:
                            started(due)
                        if meter.silent_for(now) >= self.silence_s:
                            self.leave("silent", f"live stream silent for {self.silence_s:g} s")
                            break
                    elif now - last_pcm > BROKEN_S:
                        break  # connected to nothing: restarting does not help, ending below
            error = source.error or error
            if stop.is_set() or self._leave.is_set():
                break
            if time.time() - last_pcm > BROKEN_S:
                what = "no audio from the live stream" if first_at is None else "the live stream broke"
                self.leave("broken", f"{what} for {BROKEN_S:g} s" + (f" ({error})" if error else ""))
                break
            log.warning("snapclient for live session %s ended (%s); restarting", self.session_id, error)
            stop.wait(RESTART_S)
        if stop.is_set():
            self.leave("interrupted")
        if (due := first.settled()) is not None:
            started(due)  # it ended within ANCHOR_S of joining
        if self.cause in ("silent", "broken"):
            if first_at is None:
                raise OutputError(f"cannot join live session {self.session_id}: {self.reason}"[:500])
            raise PartialPlay(self.reason[:500])
        return LiveResult(first.at or time.time(), written / BYTES_PER_S)
