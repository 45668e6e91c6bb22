"""Generate the test tone: a sine written once as a WAV file, then played like any cached clip."""

from __future__ import annotations

import array
import hashlib
import io
import math
import sys
import wave
from pathlib import Path

from broadcast.protocol import ClipRef
from edge_agent._files import atomic_write

SAMPLE_RATE = 22050
_LEVEL = 0.5  # -6 dBFS: loud enough to check a speaker, with headroom for a cheap amplifier
_FADE_S = 0.02  # a sine switched on or off abruptly clicks


def sine_wav(frequency: float, duration_s: float, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Return a mono 16-bit WAV of a sine at frequency Hz, faded in and out."""
    count = max(1, round(duration_s * sample_rate))
    fade = max(1, min(count // 2, round(_FADE_S * sample_rate)))
    step = 2 * math.pi * frequency / sample_rate
    peak = _LEVEL * 32767
    samples = array.array("h", bytes(2 * count))
    for i in range(count):
        gain = min(1.0, i / fade, (count - 1 - i) / fade)
        samples[i] = round(peak * gain * math.sin(step * i))
    if sys.byteorder == "big":
        samples.byteswap()  # WAV is little-endian
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(samples.tobytes())
    return buffer.getvalue()


def ensure_tone(directory: Path, frequency: float, duration_s: float) -> tuple[Path, ClipRef]:
    """Return the tone's WAV file (written once, atomically) and a clip reference to it."""
    path = directory / f"tone-{frequency:g}hz-{duration_s:g}s.wav"
    data = path.read_bytes() if path.exists() else b""
    expected = sine_wav(frequency, duration_s)
    if data != expected:  # absent, or torn/corrupted by the SD card
        atomic_write(path, expected)
    clip = ClipRef(
        url=path.resolve().as_uri(),
        sha256=hashlib.sha256(expected).hexdigest(),
        size=len(expected),
        duration_s=duration_s,
    )
    return path, clip
