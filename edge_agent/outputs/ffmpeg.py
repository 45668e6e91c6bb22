"""Find ffmpeg, and the command lines that turn a live stream into PCM and PCM into an MP3 file."""

from __future__ import annotations

import shutil
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


def source_command(ffmpeg: str, url: str, seconds: float) -> list[str]:
    """Return the ffmpeg command that writes at most `seconds` of the stream as s16le mono PCM to stdout."""
    return [
        ffmpeg,
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
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
