"""A real managed snapserver on free ports in a temporary directory, and real snapclients, for tests.

with running_snapserver(tmp_path) as server:  # server.cfg: stream_port, control_port, source_port(k)
    listener = Listener(server.cfg.stream_port, "loa-1")  # snapclient --hostID loa-1, PCM to stdout
    listener.tone_onset(since), listener.pcm_since(since)  # with tone(), tone_in(), silent()
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from broadcast.snapcast.config import SnapserverConfig
from broadcast.snapcast.server import ManagedSnapserver
from tests.support.free_port import free_port
from tests.support.station import terminate


def require_snapserver(*, client: bool = False) -> None:
    """Skip when snapserver (or snapclient) is missing (under CI=true the skip fails: tests/conftest.py)."""
    for tool in ("snapserver", "snapclient") if client else ("snapserver",):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed (apt-get install {tool})")


def snapserver_config(directory: Path, *, channels: int = 2, buffer_ms: int = 400) -> SnapserverConfig:
    """Return a loopback-only config on free ports, its files under `directory`."""
    return SnapserverConfig(
        executable="snapserver",
        state_dir=directory,
        bind="127.0.0.1",
        stream_port=free_port(),
        control_port=free_port(),
        source_ports=tuple(free_port() for _ in range(channels)),
        buffer_ms=buffer_ms,
    )


@contextmanager
def running_snapserver(
    directory: Path, *, channels: int = 2, buffer_ms: int = 400
) -> Iterator[ManagedSnapserver]:
    """Start a ManagedSnapserver (its config is `.cfg`) and stop it on the way out."""
    require_snapserver()
    server = ManagedSnapserver(snapserver_config(directory, channels=channels, buffer_ms=buffer_ms))
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Listener:
    """A real snapclient playing to stdout (s16le mono at 48 kHz), its PCM kept with arrival times.

    The client resamples whatever the stream carries (the station's channels: 16 kHz) to 48 kHz, so the
    checks below read one rate.
    """

    def __init__(self, port: int, host_id: str, host: str = "127.0.0.1") -> None:
        self.host_id = host_id
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [
                *("snapclient", "-h", host, "-p", str(port), "--hostID", host_id),
                *("--player", "file:filename=stdout", "--logsink", "null", "--sampleformat", "48000:16:*"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._blocks: list[tuple[float, bytes]] = []  # (monotonic arrival, pcm)
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        while block := self.process.stdout.read1(9600):  # type: ignore[attr-defined]
            with self._lock:
                self._blocks.append((time.monotonic(), block))

    def pcm_since(self, since: float) -> np.ndarray[Any, np.dtype[np.int16]]:
        """Return the samples that arrived after monotonic time `since`."""
        with self._lock:
            data = b"".join(block for at, block in self._blocks if at >= since)
        return np.frombuffer(data[: len(data) - len(data) % 2], dtype="<i2")

    def tone_onset(self, since: float, freq: float = 1000.0) -> float | None:
        """Return when (monotonic) a loud `freq` tone first arrived after `since`, None if it did not."""
        with self._lock:
            blocks = [(at, block) for at, block in self._blocks if at >= since]
        for at, block in blocks:
            samples = np.frombuffer(block[: len(block) - len(block) % 2], dtype="<i2")
            if tone_in(samples, freq):
                return at
        return None

    def close(self) -> None:
        terminate(self.process)
        self._reader.join(timeout=5)


def tone(freq: float = 1000.0, seconds: float = 0.5, amplitude: float = 0.5, rate: int = 48000) -> bytes:
    """Return a sine tone as s16le mono at `rate` (48 kHz unless said)."""
    t = np.arange(int(rate * seconds)) / rate
    return (np.sin(2 * np.pi * freq * t) * amplitude * 32767).astype("<i2").tobytes()


def tone_in(samples: np.ndarray[Any, np.dtype[np.int16]], freq: float = 1000.0) -> bool:
    """Return True if `samples` (48 kHz) are loud and `freq` dominates their spectrum."""
    if len(samples) < 480:
        return False
    x = samples.astype(np.float64)
    if np.sqrt(np.mean(x**2)) < 1000:  # -30 dBFS: silence and noise stay far below a tone at -6 dB
        return False
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    peak = float(np.argmax(spectrum)) * 48000 / len(x)
    return abs(peak - freq) < 48000 / len(x) * 2 + 20


def silent(samples: np.ndarray[Any, np.dtype[np.int16]]) -> bool:
    """Return True if every sample is (nearly) zero."""
    return len(samples) > 0 and int(np.max(np.abs(samples.astype(np.int32)))) < 64
