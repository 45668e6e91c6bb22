"""The ALSA output: ffmpeg decodes the clip (or a live stream) to raw PCM that aplay plays."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import select
import shutil
import subprocess
import threading
import time
from collections.abc import Callable

from edge_agent.outputs.base import Output, OutputError, PlayRequest
from edge_agent.outputs.ffmpeg import SAMPLE_RATE, end_process, find_ffmpeg, start_clip_decoder
from edge_agent.outputs.stream import Warm, relay

log = logging.getLogger(__name__)

_POLL_S = 0.05
# A live voice goes out with a short ALSA buffer: aplay starts once its buffer is full, so the buffer is
# latency added to every live word (snapclient already paces the PCM on the wall clock).
LIVE_BUFFER_US = 200_000


def aplay_command(aplay: str, device: str = "", buffer_us: int = 0) -> list[str]:
    """Return the aplay command that plays s16le mono PCM from stdin (buffer_us: 0 = aplay's default)."""
    command = [aplay, "-q", "-f", "S16_LE", "-r", str(SAMPLE_RATE), "-c", "1"]
    if buffer_us:
        command.append(f"--buffer-time={buffer_us}")
    return [*command, "-D", device] if device else command


def find_aplay(aplay: str = "aplay") -> str:
    """Return the aplay executable or raise OutputError saying how to get it."""
    found = shutil.which(aplay)
    if found is None:
        raise OutputError(
            f"{aplay!r} not found: install alsa-utils (apt install alsa-utils) for --output alsa"
        )
    return found


class AlsaOutput(Output):
    """Play through the default ALSA device (or `device`), one ffmpeg | aplay pipeline per clip."""

    name = "alsa"

    def __init__(self, ffmpeg: str = "", aplay: str = "aplay", device: str = "") -> None:
        self.aplay = find_aplay(aplay)
        self.ffmpeg = find_ffmpeg(ffmpeg)
        self.device = device
        self._warm = Warm()

    def prepare(self, request: PlayRequest) -> None:
        """Open a relay's stream ahead of its start, so that audio is waiting at start_at."""
        if request.stream is not None:
            self._warm.open(self.ffmpeg, request.stream)

    def finish(self, request: PlayRequest) -> None:
        """Close a stream opened by prepare() that was not relayed."""
        self._warm.close(request.command.id)

    def play(self, request: PlayRequest, started: Callable[[float], None], stop: threading.Event) -> None:
        """Run the pipeline until aplay exits or stop is set."""
        decoder = start_clip_decoder(self.ffmpeg, request.clip_path)
        assert decoder.stdout is not None
        try:
            player = subprocess.Popen(
                aplay_command(self.aplay, self.device), stdin=decoder.stdout, stderr=subprocess.PIPE
            )
        except OSError as exc:
            end_process(decoder)
            raise OutputError(f"cannot start aplay: {exc}") from exc
        # Only aplay reads the pipe now; if aplay dies, ffmpeg gets SIGPIPE instead of blocking forever.
        decoder.stdout.close()
        started(time.time())
        interrupted = False
        while player.poll() is None:
            if stop.wait(_POLL_S):
                interrupted = True
                break
        end_process(player)
        end_process(decoder)
        # aplay's complaint first: when aplay dies, ffmpeg's broken pipe is only the consequence.
        _check(player, "aplay", raise_error=not interrupted)
        _check(decoder, "ffmpeg", raise_error=not interrupted)

    def relay(self, request: PlayRequest, started: Callable[[float], None], stop: threading.Event) -> None:
        """Feed the live stream's PCM into one aplay until the relay's end time, then cut it off."""
        stream = request.stream
        if stream is None:
            raise OutputError(f"command {request.command.id} is not a stream")
        # aplay outlives ffmpeg reconnects: a dropped stream is a gap, not a new audio device open.
        player = subprocess.Popen(
            aplay_command(self.aplay, self.device), stdin=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert player.stdin is not None
        end = stream.start_at + stream.duration_s
        try:
            feed = _feeder(player.stdin.fileno(), end, stop)
            relay(self.ffmpeg, stream, feed, started, stop, self._warm.take(stream.id))
        except BrokenPipeError:
            player.wait(timeout=2)
            _check(player, "aplay", raise_error=True)
            raise OutputError("aplay stopped reading") from None
        finally:
            with contextlib.suppress(BrokenPipeError):  # aplay already gone: its exit status tells why
                player.stdin.close()
            # What aplay still buffers may play out, but never past the slot's end.
            while player.poll() is None and not stop.is_set() and time.time() < end:
                stop.wait(min(_POLL_S, max(0.0, end - time.time())))
            end_process(player)
        _check(player, "aplay", raise_error=False)

    def live(self, request: PlayRequest, started: Callable[[float], None], stop: threading.Event) -> None:
        """Feed a live session's PCM into one aplay until the agent leaves the session."""
        feed = request.live
        if feed is None:
            raise OutputError(f"command {request.command.id} is not a live session")
        command = aplay_command(self.aplay, self.device, LIVE_BUFFER_US)
        player = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        assert player.stdin is not None
        try:
            feed.pump(_feeder(player.stdin.fileno(), math.inf, stop), started, stop)
        except BrokenPipeError:
            player.wait(timeout=2)
            _check(player, "aplay", raise_error=True)
            raise OutputError("aplay stopped reading") from None
        finally:
            with contextlib.suppress(BrokenPipeError):
                player.stdin.close()
            end_process(player)  # leaving is at once: what aplay still buffers is cut off
        _check(player, "aplay", raise_error=False)

    def __repr__(self) -> str:
        return f"AlsaOutput(aplay={self.aplay!r}, ffmpeg={self.ffmpeg!r}, device={self.device!r})"


def _feeder(fd: int, end: float, stop: threading.Event) -> Callable[[bytes], None]:
    """Return write(data) into aplay's stdin that never blocks past the slot's end (a stuck device)."""
    os.set_blocking(fd, False)

    def write(data: bytes) -> None:
        view = memoryview(data)
        while view and not stop.is_set():
            remaining = end - time.time()
            if remaining <= 0:
                return  # the rest would play after the slot: drop it
            _, ready, _ = select.select([], [fd], [], min(_POLL_S, remaining))
            if ready:
                with contextlib.suppress(BlockingIOError):
                    view = view[os.write(fd, view) :]

    return write


def _check(process: subprocess.Popen[bytes], name: str, *, raise_error: bool) -> None:
    """Close the tool's stderr; raise OutputError with its message if it failed and that matters."""
    message = process.stderr.read().decode(errors="replace").strip() if process.stderr else ""
    if process.stderr:
        process.stderr.close()
    if raise_error and process.returncode != 0:
        raise OutputError(f"{name} exited with {process.returncode}: {message[-500:]}")
