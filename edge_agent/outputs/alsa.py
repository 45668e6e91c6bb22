"""The ALSA output: mpg123 (or ffmpeg) decodes the clip, ffmpeg a relayed stream, to raw PCM that aplay plays.

Clips are decoded by mpg123 when it is installed, else by ffmpeg; ffmpeg is looked for only when a clip
needs it or a stream is relayed, so a loudspeaker installed without it plays clips and refuses relays
with the reason in its report. A WAV (the agent's own test tone) goes to aplay as it is.
"""

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
from pathlib import Path

from edge_agent.outputs import ffmpeg, mpg123
from edge_agent.outputs.base import Output, OutputError, PlayRequest
from edge_agent.outputs.ffmpeg import SAMPLE_RATE, end_process, find_ffmpeg
from edge_agent.outputs.stream import Warm, relay

log = logging.getLogger(__name__)

_POLL_S = 0.05
# A live voice goes out with a short ALSA buffer: aplay starts once its buffer is full, so the buffer is
# latency added to every live word (snapclient already paces the PCM on the wall clock).
LIVE_BUFFER_US = 200_000
# The agent's report when a relay comes to a loudspeaker installed without ffmpeg (install.sh --with-relay).
_NO_RELAY = "this loudspeaker cannot relay streams: it has no ffmpeg"


def aplay_command(aplay: str, device: str = "", buffer_us: int = 0) -> list[str]:
    """Return the aplay command that plays s16le mono PCM from stdin (buffer_us: 0 = aplay's default)."""
    command = [aplay, "-q", "-f", "S16_LE", "-r", str(SAMPLE_RATE), "-c", "1"]
    if buffer_us:
        command.append(f"--buffer-time={buffer_us}")
    return [*command, "-D", device] if device else command


def aplay_file_command(aplay: str, clip: Path, device: str = "") -> list[str]:
    """Return the aplay command that plays a WAV file in the format its header declares."""
    return [aplay, "-q", *(["-D", device] if device else []), str(clip)]


def is_wav(head: bytes) -> bool:
    """Return True if a file starting with `head` is a RIFF WAVE file."""
    return head[:4] == b"RIFF" and head[8:12] == b"WAVE"


def find_aplay(aplay: str = "aplay") -> str:
    """Return the aplay executable or raise OutputError saying how to get it."""
    found = shutil.which(aplay)
    if found is None:
        raise OutputError(
            f"{aplay!r} not found: install alsa-utils (apt install alsa-utils) for --output alsa"
        )
    return found


class AlsaOutput(Output):
    """Play through the default ALSA device (or `device`), one decoder | aplay pipeline per clip."""

    name = "alsa"

    def __init__(
        self, ffmpeg: str = "", aplay: str = "aplay", device: str = "", mpg123: str = "mpg123"
    ) -> None:
        self.aplay = find_aplay(aplay)
        self.mpg123 = _find_mpg123(mpg123) if mpg123 else None
        self.ffmpeg = ffmpeg  # the configured one, if any; found when a relay (or a clip) needs it
        self.device = device
        self._warm = Warm()
        if self.mpg123 is None:  # every clip needs ffmpeg then: without it nothing can play, refuse now
            self._ffmpeg("no clip decoder: install mpg123 (apt install mpg123) or ffmpeg")

    def prepare(self, request: PlayRequest) -> None:
        """Open a relay's stream ahead of its start, so that audio is waiting at start_at."""
        if request.stream is not None:
            self._warm.open(self._ffmpeg(_NO_RELAY), request.stream)

    def finish(self, request: PlayRequest) -> None:
        """Close a stream opened by prepare() that was not relayed."""
        self._warm.close(request.command.id)

    def play(self, request: PlayRequest, started: Callable[[float], None], stop: threading.Event) -> None:
        """Run the pipeline until aplay exits or stop is set."""
        decoder_name, decoder = self._start_decoder(request.clip_path)
        try:
            if decoder is None:  # a WAV: aplay reads its header and plays it
                command = aplay_file_command(self.aplay, request.clip_path, self.device)
                player = subprocess.Popen(command, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
            else:
                assert decoder.stdout is not None
                command = aplay_command(self.aplay, self.device)
                player = subprocess.Popen(command, stdin=decoder.stdout, stderr=subprocess.PIPE)
                # Only aplay reads the pipe now; if aplay dies, the decoder gets SIGPIPE, not a stall.
                decoder.stdout.close()
        except OSError as exc:
            if decoder is not None:
                end_process(decoder)
            raise OutputError(f"cannot start aplay: {exc}") from exc
        started(time.time())
        interrupted = False
        while player.poll() is None:
            if stop.wait(_POLL_S):
                interrupted = True
                break
        end_process(player)
        if decoder is not None:
            end_process(decoder)
        # aplay's complaint first: when aplay dies, the decoder's broken pipe is only the consequence.
        _check(player, "aplay", raise_error=not interrupted)
        if decoder is not None:
            _check(decoder, decoder_name, raise_error=not interrupted)

    def relay(self, request: PlayRequest, started: Callable[[float], None], stop: threading.Event) -> None:
        """Feed the live stream's PCM into one aplay until the relay's end time, then cut it off."""
        stream = request.stream
        if stream is None:
            raise OutputError(f"command {request.command.id} is not a stream")
        ffmpeg_path = self._ffmpeg(_NO_RELAY)  # before aplay opens the device: a clear refusal
        # aplay outlives ffmpeg reconnects: a dropped stream is a gap, not a new audio device open.
        player = subprocess.Popen(
            aplay_command(self.aplay, self.device), stdin=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert player.stdin is not None
        end = stream.start_at + stream.duration_s
        try:
            feed = _feeder(player.stdin.fileno(), end, stop)
            relay(ffmpeg_path, stream, feed, started, stop, self._warm.take(stream.id))
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

    def _ffmpeg(self, refusal: str) -> str:
        """Return ffmpeg, or raise OutputError with `refusal` (what cannot be done) and why."""
        try:
            return find_ffmpeg(self.ffmpeg)
        except OutputError as exc:
            raise OutputError(f"{refusal}: {exc}") from None

    def _start_decoder(self, clip: Path) -> tuple[str, subprocess.Popen[bytes] | None]:
        """Start the clip's decoder (mpg123 for MP3 if installed, else ffmpeg); None for a WAV."""
        try:
            with clip.open("rb") as file:
                head = file.read(12)
        except OSError as exc:
            raise OutputError(f"cannot read clip {clip.name}: {exc}") from exc
        if is_wav(head):
            return "aplay", None
        try:
            if self.mpg123 is not None and mpg123.is_mpeg_audio(head):
                return "mpg123", mpg123.start_clip_decoder(self.mpg123, clip)
            hint = " (mpg123 decodes only MP3)" if self.mpg123 else ""
            decoder = self._ffmpeg(f"cannot decode {clip.name} without ffmpeg{hint}")
            return "ffmpeg", ffmpeg.start_clip_decoder(decoder, clip)
        except OSError as exc:
            raise OutputError(f"cannot start the clip decoder: {exc}") from exc

    def __repr__(self) -> str:
        return (
            f"AlsaOutput(aplay={self.aplay!r}, mpg123={self.mpg123!r}, ffmpeg={self.ffmpeg!r}, "
            f"device={self.device!r})"
        )


def _find_mpg123(name: str) -> str | None:
    found = mpg123.find_mpg123(name)
    if found is None:
        log.info("%s not found: clips are decoded by ffmpeg", name)
    return found


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
