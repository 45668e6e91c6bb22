"""ffmpeg, the outputs' one adapter for it: find it, its command lines, start it and end it.

Three jobs: decode a clip to PCM (for aplay), decode a live stream to PCM, encode PCM into an MP3 file
(the file sink's stream recording). Every ffmpeg process the agent runs is started here.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from edge_agent.outputs.base import OutputError

SAMPLE_RATE = 22050  # speech and AM-quality radio; halves the Pi's work compared with 44.1 kHz
BYTES_PER_S = SAMPLE_RATE * 2  # s16le mono
RW_TIMEOUT_S = 5.0  # a stalled stream connection counts as a drop after this long


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


# What every decode writes to stdout: signed 16-bit mono PCM at SAMPLE_RATE.
_PCM_OUT = ["-f", "s16le", "-acodec", "pcm_s16le", "-ac", "1", "-ar", str(SAMPLE_RATE), "-"]
_QUIET = ["-nostdin", "-hide_banner", "-loglevel", "error"]


def decode_command(ffmpeg: str, clip: Path) -> list[str]:
    """Return the ffmpeg command that writes the clip as s16le mono PCM to stdout."""
    return [ffmpeg, *_QUIET, "-i", str(clip), *_PCM_OUT]


def source_command(ffmpeg: str, url: str, seconds: float) -> list[str]:
    """Return the ffmpeg command that writes at most `seconds` of the stream as s16le mono PCM to stdout."""
    return [
        ffmpeg,
        *_QUIET,
        "-rw_timeout",
        str(int(RW_TIMEOUT_S * 1_000_000)),
        # Probe little and flush every packet: the defaults buffer ~0.5 s before the first byte comes out.
        "-probesize",
        "2048",
        "-analyzeduration",
        "0",
        "-i",
        url,
        "-t",
        f"{seconds:.3f}",
        "-vn",
        "-flush_packets",
        "1",
        *_PCM_OUT,
    ]


def encoder_command(ffmpeg: str, target: Path) -> list[str]:
    """Return the ffmpeg command that encodes s16le mono PCM from stdin into an MP3 file."""
    return [
        ffmpeg,
        "-hide_banner",
        "-loglevel",
        "error",
        "-f",
        "s16le",
        "-ar",
        str(SAMPLE_RATE),
        "-ac",
        "1",
        "-i",
        "-",
        "-c:a",
        "libmp3lame",
        "-b:a",
        "48k",
        "-y",
        str(target),
    ]


def start_clip_decoder(ffmpeg: str, clip: Path) -> subprocess.Popen[bytes]:
    """Start decoding the clip: PCM on the process's stdout pipe, complaints on its stderr pipe."""
    return _start_decoder(decode_command(ffmpeg, clip))


def start_stream_decoder(ffmpeg: str, url: str, seconds: float) -> subprocess.Popen[bytes]:
    """Start decoding at most `seconds` of the stream: PCM on stdout, complaints on stderr (pipes)."""
    return _start_decoder(source_command(ffmpeg, url, seconds))


def start_encoder(ffmpeg: str, target: Path) -> subprocess.Popen[bytes]:
    """Start encoding the PCM written to its stdin pipe into the MP3 file target."""
    return subprocess.Popen(
        encoder_command(ffmpeg, target),
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def close_encoder(encoder: subprocess.Popen[bytes]) -> None:
    """Close the encoder's input and let it finish the file (killed if it hangs)."""
    if encoder.stdin is not None:
        encoder.stdin.close()
    try:
        encoder.wait(timeout=10)
    except subprocess.TimeoutExpired:
        encoder.kill()
        encoder.wait()


def end_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate a child (ffmpeg or aplay) if it still runs, kill it if it ignores that, and reap it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _start_decoder(command: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
