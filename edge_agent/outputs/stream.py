"""Relay a live http(s) audio stream: ffmpeg decodes it to PCM, we forward it on the wall clock.

ffmpeg reads the URL and writes s16le mono PCM to a pipe; this module copies that PCM into the output
(aplay's stdin, or the file sink's MP3 encoder) from the first byte until the relay's end time, at most
duration_s of audio. If the stream ends or drops early, ffmpeg is started again for what remains.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from broadcast.protocol import StreamCommand
from edge_agent.outputs.base import OutputError
from edge_agent.outputs.child import PcmChild
from edge_agent.outputs.ffmpeg import BYTES_PER_S, start_stream_decoder

log = logging.getLogger(__name__)

OPEN_ATTEMPTS = 3  # a stream that gave no audio after this many tries cannot be opened
RETRY_S = 0.5
MAX_RETRY_S = 5.0
_SLACK_S = 1.0


class PartialPlay(OutputError):
    """The relay started, but the stream dropped and part of the slot was silent; the text says how much."""


@dataclass(frozen=True)
class RelayResult:
    """What a relay delivered: when audio first flowed, how many seconds of it, and how often it dropped."""

    first_audio_at: float
    seconds: float
    drops: int


class Warm:
    """Streams opened just ahead of their start (an output's prepare), taken by relay() or closed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sources: dict[str, _Source] = {}

    def open(self, ffmpeg: str, stream: StreamCommand) -> None:
        """Start ffmpeg on the stream now; its PCM waits in the pipe (~1.5 s of it) until relay()."""
        source = _Source(ffmpeg, stream.url, stream.duration_s + _SLACK_S)
        with self._lock:
            old, self._sources[stream.id] = self._sources.get(stream.id), source
        if old is not None:
            old.close()

    def take(self, command_id: str) -> _Source | None:
        """Return the opened stream for relay() to use (it closes it), if there is one."""
        with self._lock:
            return self._sources.pop(command_id, None)

    def close(self, command_id: str) -> None:
        """Close an opened stream that was not relayed (skipped, interrupted)."""
        source = self.take(command_id)
        if source is not None:
            source.close()


def relay(
    ffmpeg: str,
    stream: StreamCommand,
    write: Callable[[bytes], object],
    started: Callable[[float], None],
    stop: threading.Event,
    opened: _Source | None = None,
) -> RelayResult:
    """Forward the stream until start_at + duration_s; raise OutputError if it never gave audio."""
    deadline = stream.start_at + stream.duration_s
    budget = int(max(0.0, deadline - time.time()) * BYTES_PER_S) & ~1
    written, drops, failures = 0, 0, 0
    first_at: float | None = None
    error = ""
    while not stop.is_set() and written < budget and time.time() < deadline:
        # A little more than needed: the budget and the deadline end the relay, not ffmpeg running dry.
        seconds = min((budget - written) / BYTES_PER_S, deadline - time.time()) + _SLACK_S
        before = written
        source, opened = opened or _Source(ffmpeg, stream.url, seconds), None
        with source:
            for chunk in source.chunks(deadline, stop):
                chunk = chunk[: budget - written]
                if first_at is None:
                    first_at = time.time()
                    started(first_at)
                write(chunk)
                written += len(chunk)
                if written >= budget:
                    break
        error = source.error or error
        if stop.is_set() or written >= budget or time.time() >= deadline:
            break
        if written == before:
            failures += 1  # nothing came on this attempt: the URL does not answer (or no longer does)
            if first_at is None and failures >= OPEN_ATTEMPTS:
                break
        else:
            failures = 0
            drops += 1
            log.warning("stream %s dropped after %.1f s; reconnecting", stream.url, written / BYTES_PER_S)
        stop.wait(min(RETRY_S * (1 + failures), MAX_RETRY_S, max(0.0, deadline - time.time())))
    if opened is not None:
        opened.close()  # stopped before it was needed
    if first_at is None:
        if stop.is_set():
            return RelayResult(time.time(), 0.0, 0)
        raise OutputError(f"cannot open stream {stream.url}: {error or 'no audio'}"[:500])
    result = RelayResult(first_at, written / BYTES_PER_S, drops)
    missing = deadline - first_at - result.seconds
    if drops and missing > 0.5 and not stop.is_set():
        raise PartialPlay(
            f"stream dropped {drops} time(s): relayed {result.seconds:.1f} of {stream.duration_s:g} s"
            + (f" ({error})" if error else "")
        )
    return result


class _Source(PcmChild):
    """One ffmpeg process decoding the stream; `error` is the last line it complained with, once closed."""

    def __init__(self, ffmpeg: str, url: str, seconds: float) -> None:
        super().__init__(start_stream_decoder(ffmpeg, url, seconds))
        self.error = ""

    def close(self) -> str:
        """End ffmpeg if it still runs; keep the last line it complained with in `error`."""
        said = super().close()
        lines = said.strip().splitlines()
        self.error = lines[-1] if lines else ""
        return said
