"""The ALSA output: ffmpeg decodes the clip to raw PCM and pipes it into aplay."""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from edge_agent.outputs.base import Output, OutputError, PlayRequest

log = logging.getLogger(__name__)

SAMPLE_RATE = 22050  # speech bulletins; halves the Pi's work compared with 44.1 kHz
_POLL_S = 0.05


def decode_command(ffmpeg: str, clip: Path) -> list[str]:
    """Return the ffmpeg command that writes the clip as s16le mono PCM to stdout."""
    return [
        ffmpeg,
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-i",
        str(clip),
        "-f",
        "s16le",
        "-acodec",
        "pcm_s16le",
        "-ac",
        "1",
        "-ar",
        str(SAMPLE_RATE),
        "-",
    ]


def aplay_command(aplay: str, device: str = "") -> list[str]:
    """Return the aplay command that plays s16le mono PCM from stdin."""
    command = [aplay, "-q", "-f", "S16_LE", "-r", str(SAMPLE_RATE), "-c", "1"]
    return [*command, "-D", device] if device else command


def find_aplay(aplay: str = "aplay") -> str:
    """Return the aplay executable or raise OutputError saying how to get it."""
    found = shutil.which(aplay)
    if found is None:
        raise OutputError(
            f"{aplay!r} not found: install alsa-utils (apt install alsa-utils) for --output alsa"
        )
    return found


def find_ffmpeg(configured: str = "") -> str:
    """Return the configured ffmpeg, the one on PATH, or imageio-ffmpeg's; else raise OutputError."""
    if configured:
        found = shutil.which(configured)
        if found is None:
            raise OutputError(f"configured ffmpeg {configured!r} not found")
        return found
    found = shutil.which("ffmpeg")
    if found is not None:
        return found
    try:
        import imageio_ffmpeg  # optional; only for machines without a system ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError) as exc:
        raise OutputError(
            "ffmpeg not found: install it (apt install ffmpeg) or set ffmpeg in agent.toml"
        ) from exc


class AlsaOutput(Output):
    """Play through the default ALSA device (or `device`), one ffmpeg | aplay pipeline per clip."""

    name = "alsa"

    def __init__(self, ffmpeg: str = "", aplay: str = "aplay", device: str = "") -> None:
        self.aplay = find_aplay(aplay)
        self.ffmpeg = find_ffmpeg(ffmpeg)
        self.device = device

    def play(self, request: PlayRequest, started: Callable[[float], None], stop: threading.Event) -> None:
        """Run the pipeline until aplay exits or stop is set."""
        decoder = subprocess.Popen(
            decode_command(self.ffmpeg, request.clip_path),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert decoder.stdout is not None
        try:
            player = subprocess.Popen(
                aplay_command(self.aplay, self.device), stdin=decoder.stdout, stderr=subprocess.PIPE
            )
        except OSError as exc:
            _end(decoder)
            raise OutputError(f"cannot start aplay: {exc}") from exc
        # Only aplay reads the pipe now; if aplay dies, ffmpeg gets SIGPIPE instead of blocking forever.
        decoder.stdout.close()
        started(time.time())
        interrupted = False
        while player.poll() is None:
            if stop.wait(_POLL_S):
                interrupted = True
                break
        _end(player)
        _end(decoder)
        # aplay's complaint first: when aplay dies, ffmpeg's broken pipe is only the consequence.
        _check(player, "aplay", raise_error=not interrupted)
        _check(decoder, "ffmpeg", raise_error=not interrupted)

    def __repr__(self) -> str:
        return f"AlsaOutput(aplay={self.aplay!r}, ffmpeg={self.ffmpeg!r}, device={self.device!r})"


def _end(process: subprocess.Popen[bytes]) -> None:
    """Terminate a process if it still runs (kill if it ignores us) and reap it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _check(process: subprocess.Popen[bytes], name: str, *, raise_error: bool) -> None:
    """Close the tool's stderr; raise OutputError with its message if it failed and that matters."""
    message = process.stderr.read().decode(errors="replace").strip() if process.stderr else ""
    if process.stderr:
        process.stderr.close()
    if raise_error and process.returncode != 0:
        raise OutputError(f"{name} exited with {process.returncode}: {message[-500:]}")
