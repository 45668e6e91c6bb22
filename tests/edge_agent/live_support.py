"""Live broadcast test parts: a real snapserver with one TCP input, a paced PCM feeder, tone onset finding."""

from __future__ import annotations

import array
import math
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import imageio_ffmpeg

from broadcast import protocol
from broadcast.snapcast.source import ChannelInput
from tests.edge_agent.programme_station import next_seq
from tests.support.free_port import free_port
from tests.support.station import terminate

RATE = 48000  # the station's live format: mono s16le 48 kHz (flac)
CHUNK = RATE // 50  # 20 ms
TONE_HZ = 1000.0
_PCM = ["-f", "s16le", "-ac", "1", "-ar", "22050", "-"]


class Snapserver:
    """snapserver on free loopback ports, one stream (a TCP input in server mode) every client plays."""

    def __init__(self, root: Path, buffer_ms: int = 400) -> None:
        executable = shutil.which("snapserver")
        if executable is None:
            raise FileNotFoundError("snapserver is not installed (apt install snapserver)")
        root.mkdir(parents=True, exist_ok=True)
        self.port, self.control_port, self.source_port = free_port(), free_port(), free_port()
        conf = root / "snapserver.conf"
        conf.write_text(
            "\n".join(
                [
                    "[server]",
                    f"datadir = {root}",
                    "[http]",
                    "enabled = false",
                    "[tcp]",
                    "bind_to_address = 127.0.0.1",
                    f"port = {self.control_port}",
                    "[stream]",
                    "bind_to_address = 127.0.0.1",
                    f"port = {self.port}",
                    f"source = tcp://127.0.0.1:{self.source_port}?name=live&mode=server",
                    f"sampleformat = {RATE}:16:1",
                    "codec = flac",
                    "chunk_ms = 20",
                    f"buffer = {buffer_ms}",
                    "[logging]",
                    "sink = stderr",
                    "filter = *:error",
                    "",
                ]
            )
        )
        self.log = (root / "snapserver.log").open("ab")
        self.process = subprocess.Popen([executable, "-c", str(conf)], stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 10
        while not _listening(self.port) or not _listening(self.source_port):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.close()
                raise RuntimeError("snapserver did not start")
            time.sleep(0.05)

    def close(self) -> None:
        terminate(self.process)
        self.log.close()


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Feeder:
    """Write silence (or a tone, on request) into the server's TCP input, paced in real time.

    The station's own input path carries it: broadcast.snapcast.source.ChannelInput.
    """

    def __init__(self, port: int) -> None:
        self.input = ChannelInput(port)
        self._tone = threading.Event()
        self._stop = threading.Event()
        self.tone_at: float | None = None  # wall time the latest burst's first sample went to the server
        self._thread = threading.Thread(target=self._run, name="feeder", daemon=True)
        self._thread.start()

    def tone(self, on: bool = True) -> None:
        """Start (or stop) the tone; tone_at becomes the time of this burst's first sample."""
        if not on:
            self._tone.clear()
            return
        if not self._tone.is_set():
            self.tone_at = None
        self._tone.set()

    def _run(self) -> None:
        start, sent = time.time(), 0
        silence = bytes(CHUNK * 2)
        while not self._stop.is_set():
            if self._tone.is_set():
                if self.tone_at is None:
                    self.tone_at = time.time()
                pcm = array.array(
                    "h",
                    (int(10000 * math.sin(2 * math.pi * TONE_HZ * (sent + i) / RATE)) for i in range(CHUNK)),
                ).tobytes()
            else:
                pcm = silence
            self.input.write(pcm)
            sent += CHUNK
            time.sleep(max(0.0, start + sent / RATE - time.time()))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.input.close()


def onset_s(mp3: Path, threshold: int = 3000) -> float | None:
    """Return the offset (s) of the first loud sample in an MP3 the file sink wrote, or None."""
    pcm = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-i", str(mp3), *_PCM],
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout
    samples = array.array("h", pcm[: len(pcm) & ~1])
    index = next((i for i, x in enumerate(samples) if abs(x) > threshold), None)
    return None if index is None else index / 22050


def live_start(
    session: str,
    server: Snapserver | int,
    zones: tuple[str, ...] = ("thon-1",),
    lease_s: float = 15.0,
    **kw: Any,
) -> protocol.LiveStartCommand:
    """Return a live_start for `session` on server (or a port); keyword arguments override fields."""
    now = time.time()
    fields: dict[str, Any] = {
        "id": f"ls-{time.monotonic_ns()}",
        "seq": next_seq(),
        "issued_at": now,
        "expires_at": now + 30,
        "zones": zones,
        "session_id": session,
        "host": "127.0.0.1",
        "port": server if isinstance(server, int) else server.port,
        "lease_until": now + lease_s,
        "silence_s": 30.0,
        "title": "Phát trực tiếp",
        **kw,
    }
    return protocol.LiveStartCommand(**fields)


def live_stop(
    session: str, zones: tuple[str, ...] = ("thon-1",), reason: str = ""
) -> protocol.LiveStopCommand:
    """Return a live_stop for `session`."""
    now = time.time()
    return protocol.LiveStopCommand(
        id=f"lx-{time.monotonic_ns()}",
        seq=next_seq(),
        issued_at=now,
        expires_at=now + 30,
        zones=zones,
        session_id=session,
        reason=reason,
    )
