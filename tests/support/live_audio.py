"""What a loudspeaker played during a live session: tone-burst onsets in an agent's file-sink recording.

The file sink keeps a live session's audio continuous on the wall clock (`started_at` + offset = when that
sound was due on the speaker), so an onset found in the file is a wall-clock time, comparable between
agents (start skew) and with the moment the sound left the officer's browser or socket (latency).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from broadcast.audio import ffmpeg_exe

SINK_RATE = 22050  # the agent's PCM rate
_WINDOW = SINK_RATE // 200  # 5 ms


def burst_onsets(mp3: Path, started_at: float, threshold: float = 3000.0, gap_s: float = 0.5) -> list[float]:
    """Return the wall-clock times at which loud sound starts in the recording (one per burst)."""
    pcm = subprocess.run(
        [
            ffmpeg_exe(None),
            "-v",
            "error",
            "-i",
            str(mp3),
            *("-f", "s16le", "-ac", "1", "-ar", str(SINK_RATE)),
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2").astype(np.float64)
    usable = len(samples) // _WINDOW * _WINDOW
    rms = np.sqrt(np.mean(samples[:usable].reshape(-1, _WINDOW) ** 2, axis=1))
    loud = rms > threshold
    found: list[float] = []
    for index in np.flatnonzero(loud[1:] & ~loud[:-1]) + 1:
        at = started_at + float(index) * _WINDOW / SINK_RATE
        if not found or at - found[-1] > gap_s:
            found.append(at)
    return found


def live_onsets(plays_dir: Path, plays: list[dict[str, Any]], session_id: str) -> list[float]:
    """Return the burst onsets of every join of `session_id` recorded in an agent's file sink."""
    onsets: list[float] = []
    for line in plays:
        if line.get("kind") == "live" and line.get("session_id") == session_id:
            onsets += burst_onsets(plays_dir / str(line["file"]), float(line["started_at"]))
    return sorted(onsets)


def matched(sent: list[float], heard: list[float], within_s: float = 5.0) -> list[float | None]:
    """Return, for each sent onset, the first heard onset after it (within `within_s`), or None."""
    return [next((h for h in heard if 0 < h - s < within_s), None) for s in sent]
