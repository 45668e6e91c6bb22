"""Test signal for the live-engine bench: a quiet carrier with loud tone bursts, and their detection.

The source plays a 300 Hz carrier at -20 dBFS without a break, so any silence in a client's output is a
dropout, and every PERIOD_S a 1 kHz burst at -2 dBFS whose length (80/160/240/320 ms, in turn) names the
burst modulo 4: an onset seen at a client is matched to the latest burst of that class written before it.
Pure logic (numpy arrays in, onsets and gaps out); the processes and the clock live in live_engines.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

RATE = 48_000  # Hz, mono s16le everywhere
CHUNK_MS = 20
CHUNK = RATE * CHUNK_MS // 1000  # samples per source write
PERIOD_S = 2.0
BURST_MS = (80, 160, 240, 320)  # length of burst k is BURST_MS[k % 4]
CARRIER_AMP, BURST_AMP = 0.1, 0.8
LOUD = int(0.4 * 32767)  # above the carrier, below any burst, even after MP3
QUIET = 300  # a 10 ms window whose peak stays below this is silence (the carrier peaks at ~3,300)
GAP_WINDOW = RATE // 100
RELEASE = RATE * 20 // 1000  # a burst ends after 20 ms without a loud sample
JUMP_S = 0.1  # output resuming this late after the previous block ended: the process or reader was starved


def source_chunk(n: int) -> tuple[bytes, int | None]:
    """Return PCM chunk n of the test signal and the burst number if a burst starts in it."""
    start = n * CHUNK
    idx = np.arange(start, start + CHUNK)
    t = idx / RATE
    signal = CARRIER_AMP * np.sin(2 * np.pi * 300 * t)
    period = int(PERIOD_S * RATE)
    k = start // period
    into = idx - k * period
    length = BURST_MS[k % 4] * RATE // 1000
    burst = into < length
    signal = np.where(burst, BURST_AMP * np.sin(2 * np.pi * 1000 * into / RATE), signal)
    pcm = (signal * 32767).astype("<i2").tobytes()
    return pcm, (k if start % period == 0 else None)


def with_noise(pcm: bytes, dbfs: float, rng: np.random.Generator) -> bytes:
    """Return pcm with white noise at dbfs (RMS) added: a microphone's noise floor, which flac cannot pack."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    noisy = samples + rng.normal(0.0, 32767 * 10 ** (dbfs / 20), samples.size)
    return np.clip(noisy, -32768, 32767).astype("<i2").tobytes()


def burst_class(duration_s: float) -> int | None:
    """Return k % 4 for a burst heard for duration_s, or None if no class is within 30 ms."""
    for cls, ms in enumerate(BURST_MS):
        if abs(duration_s * 1000 - ms) <= 30:
            return cls
    return None


@dataclass
class Detector:
    """Find burst onsets and silent gaps in a stream of PCM blocks with known sample times."""

    onsets: list[tuple[float, float]] = field(default_factory=list)  # (time, duration s)
    gaps: list[tuple[float, float]] = field(default_factory=list)  # silence played: (start time, length s)
    stalls: list[tuple[float, float]] = field(default_factory=list)  # no output at all: (start, length s)
    first_audio: float | None = None
    _start_t: float | None = None
    _last_loud_t: float = 0.0
    _silent_since: float | None = None
    _tail: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int16))
    _tail_t: float = 0.0
    _next_t: float | None = None

    def feed(self, pcm: bytes, t0: float) -> None:
        """Take a block of s16le samples whose first sample sounded at t0 (monotonic seconds)."""
        samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2")
        if samples.size == 0:
            return
        self._bursts(samples, t0)
        if self._next_t is not None and t0 - self._next_t > JUMP_S:  # nothing came out at all for a while
            if self.first_audio is not None:
                self.stalls.append((self._next_t, t0 - self._next_t))
            self._tail = self._tail[:0]
        self._next_t = t0 + samples.size / RATE
        if self._tail.size == 0:
            self._tail_t = t0
        block = np.concatenate([self._tail, samples])
        whole = block.size // GAP_WINDOW
        peaks = np.abs(block[: whole * GAP_WINDOW].astype(np.int32)).reshape(whole, GAP_WINDOW).max(axis=1)
        for w, peak in enumerate(peaks):
            self._window(self._tail_t + w * GAP_WINDOW / RATE, int(peak))
        self._tail = block[whole * GAP_WINDOW :]
        self._tail_t += whole * GAP_WINDOW / RATE

    def close(self, t: float) -> None:
        """End the stream at t: an open gap is counted up to t."""
        if self._silent_since is not None and self.first_audio is not None:
            self.gaps.append((self._silent_since, t - self._silent_since))
            self._silent_since = None

    def _bursts(self, samples: np.ndarray, t0: float) -> None:
        loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > LOUD)
        release = RELEASE / RATE
        if loud.size:
            times = t0 + loud / RATE
            breaks = np.flatnonzero(np.diff(times) > release) + 1
            for run in np.split(times, breaks):
                if self._start_t is not None and run[0] - self._last_loud_t > release:
                    self._end_burst()
                if self._start_t is None:
                    self._start_t = float(run[0])
                self._last_loud_t = float(run[-1])
        end_t = t0 + samples.size / RATE
        if self._start_t is not None and end_t - self._last_loud_t > release:
            self._end_burst()

    def _end_burst(self) -> None:
        assert self._start_t is not None
        self.onsets.append((self._start_t, self._last_loud_t - self._start_t))
        self._start_t = None

    def _window(self, t: float, peak: int) -> None:
        if peak >= QUIET:
            if self.first_audio is None:
                self.first_audio = t
            if self._silent_since is not None:
                self.gaps.append((self._silent_since, t - self._silent_since))
                self._silent_since = None
        elif self.first_audio is not None and self._silent_since is None:
            self._silent_since = t


def whole(onsets: list[tuple[float, float]], breaks: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Return the onsets of bursts heard whole: a break (gap, stall) within 30 ms cuts a burst into fragments.

    A fragment's length can fall in another class and match a burst seconds older.
    """
    margin = 0.03
    return [
        (t, d)
        for t, d in onsets
        if not any(s < t + d + margin and s + length > t - margin for s, length in breaks)
    ]


def match(onsets: list[tuple[float, float]], written: dict[int, float]) -> dict[int, float]:
    """Return {burst k: latency s} for each heard onset matched to the latest written burst of its class."""
    result: dict[int, float] = {}
    for t, duration in onsets:
        cls = burst_class(duration)
        if cls is None:
            continue
        candidates = [k for k, wt in written.items() if k % 4 == cls and wt <= t]
        if candidates:
            k = max(candidates)
            result.setdefault(k, t - written[k])
    return result


def percentiles(values: list[float], scale: float = 1000.0) -> dict[str, float | int | None]:
    """Return n, p50, p95 and max of values (times scale, rounded), or None when empty."""
    if not values:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    arr = np.asarray(values) * scale
    return {
        "n": len(values),
        "p50": round(float(np.percentile(arr, 50)), 1),
        "p95": round(float(np.percentile(arr, 95)), 1),
        "max": round(float(arr.max()), 1),
    }
