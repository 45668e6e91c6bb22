"""A fake microphone for Chromium: a WAV it plays (in a loop) as the capture device, and the flags for it.

The sound is a known pattern the tests can recognise: `silence_s` of silence, then a `tone_hz` burst of
`burst_s`, repeated. Chromium's `--use-file-for-fake-audio-capture` loops the file.
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 48000
AMPLITUDE = 0.5  # of full scale: loud enough for any meter, far from clipping


def tone_bursts(
    path: Path,
    silence_s: float = 1.0,
    burst_s: float = 0.3,
    tone_hz: float = 1000.0,
    repeats: int = 3,
    rate: int = RATE,
) -> Path:
    """Write a mono 16-bit WAV of `repeats` × (silence, tone burst) and return its path."""
    silence = b"\x00\x00" * round(silence_s * rate)
    count = round(burst_s * rate)
    peak = AMPLITUDE * 32767
    burst = struct.pack(
        f"<{count}h", *(round(peak * math.sin(2 * math.pi * tone_hz * i / rate)) for i in range(count))
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((silence + burst) * repeats)
    return path


def chromium_flags(wav: Path) -> list[str]:
    """Return the Chromium flags that make `wav` the microphone and grant it without asking."""
    return [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}",
    ]
