"""One live session on its channel: the chime once the loudspeakers have joined, then the officer's voice.

The web socket only queues the officer's PCM (it never waits on the engine or the recorder); a writer
thread moves it into the engine's channel input and into the recording. Audio that arrives while the
chime plays is dropped: the page says to speak only once it shows ON AIR.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable

from broadcast.audio import chime

log = logging.getLogger(__name__)

# Mono s16le at 16 kHz, as the page sends it and the engine's channels take it: speech up to 8 kHz (all a
# horn loudspeaker reproduces) at a third of the data of 48 kHz (bench/live_engines.py: flac 173 kbit/s
# per loudspeaker instead of 490).
RATE = 16000
BYTES_PER_S = RATE * 2
JOIN_WAIT_S = 3.0  # the chime waits this long at most for the zone's loudspeakers to join the stream
# A snapclient corrects its clock once within ~1.5 s of joining, with a short silence (bench/live_engines.py,
# docs/live-engine.md): the chime starts after that, so no loudspeaker loses part of it.
SETTLE_S = 1.5
_PIECE_S = 0.02
_QUEUE_S = 5.0  # the officer's audio waiting for the writer; more than this is a stalled engine: drop
_MAX_FRAME = BYTES_PER_S  # one web socket message carries at most a second of audio


class _Closing:
    """Queued by close(closing=True): the writer plays the closing chime, then stops."""


_CLOSING = _Closing()


class OnAir:
    """The running part of a live session (the record lives in the database)."""

    def __init__(
        self,
        session_id: str,
        channel: int,
        devices: frozenset[str],
        write: Callable[[bytes], None],
        record: Callable[[bytes], None],
        joined: Callable[[], bool],
        on_air: Callable[[], None],
        expecting: bool = True,
    ) -> None:
        self.session_id, self.channel, self.devices = session_id, channel, devices
        self._write, self._record, self._joined, self._on_air = write, record, joined, on_air
        self._expecting = expecting  # loudspeakers are online to join: let their clocks settle first
        self.state = "starting"
        self.started = time.monotonic()
        self.last_audio = self.started
        self.audio_bytes = 0
        self.dropped_bytes = 0
        self.last_write = self.started  # when the writer last put audio into the engine
        self.attached = threading.Event()  # the officer's page has opened its audio socket
        self._queue: queue.Queue[bytes | _Closing | None] = queue.Queue(maxsize=int(_QUEUE_S / 0.02))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"live-{channel}", daemon=True)

    @property
    def audio_s(self) -> float:
        return self.audio_bytes / BYTES_PER_S

    def start(self) -> None:
        self._thread.start()

    def feed(self, pcm: bytes) -> None:
        """Queue one message of the officer's audio (mono s16le 48 kHz); never blocks."""
        if not pcm or len(pcm) > _MAX_FRAME or len(pcm) % 2:
            raise ValueError("an audio message is whole 16-bit samples, at most one second")
        self.last_audio = time.monotonic()
        if self.state != "on_air":
            return
        try:
            self._queue.put_nowait(pcm)
        except queue.Full:
            self.dropped_bytes += len(pcm)

    def close(self, timeout: float = 5.0, closing: bool = False) -> None:
        """Stop the writer: the audio still queued is written first, then (closing) the falling chime."""
        was_on_air = self.state == "on_air"
        self.state = "ended"
        if not (closing and was_on_air):
            self._stop.set()
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(_CLOSING if closing and was_on_air else None)
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            self._wait_for_listeners()
            if self._stop.is_set():
                return
            self._play(chime(RATE).samples + bytes(int(0.3 * BYTES_PER_S) & ~1))
            if self._stop.is_set():
                return
            self.state = "on_air"
            self.last_audio = time.monotonic()
            self._on_air()
            self._forward()
        except Exception:
            log.exception("live session %s: the writer failed", self.session_id)

    def _wait_for_listeners(self) -> None:
        deadline = time.monotonic() + JOIN_WAIT_S
        while time.monotonic() < deadline and not self._stop.is_set() and not self._joined():
            time.sleep(0.05)
        if self._expecting:
            self._stop.wait(SETTLE_S)

    def _play(self, pcm: bytes) -> None:
        """Write a signal in real time (the engine plays what it gets as it gets it)."""
        piece = int(_PIECE_S * BYTES_PER_S)
        began = time.monotonic()
        for index, offset in enumerate(range(0, len(pcm), piece)):
            if self._stop.is_set():
                return
            delay = began + index * _PIECE_S - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._emit(pcm[offset : offset + piece])

    def _forward(self) -> None:
        while True:
            pcm = self._queue.get()
            if pcm is None:
                return
            if isinstance(pcm, _Closing):
                self._play(chime(RATE, rising=False).samples)
                return
            self.audio_bytes += len(pcm)
            self._emit(pcm)

    def _emit(self, pcm: bytes) -> None:
        self._write(pcm)
        self.last_write = time.monotonic()
        try:
            self._record(pcm)
        except Exception:  # the recording is proof, not the broadcast: a failed encoder never cuts the air
            log.exception("live session %s: recording failed", self.session_id)
            self._record = _discard


def _discard(_: bytes) -> None:
    return None
