"""The processes of the live-engine bench: snapserver, icecast2, the paced source, the clients, /proc.

Snapserver gets one `tcp://…?mode=server` source per channel (flac, 48000:16:1, chunk_ms 20); icecast2
gets a generated config (low burst, 2,000 clients) and runs as nobody. The source thread writes the
test signal in 20 ms chunks on a monotonic schedule and records when each burst was written. A client
reader thread timestamps every read of a client's stdout: snapclient paces its output in real time, so
a read's last sample sounds at the read; ffmpeg decodes as fast as bytes arrive, so its output goes
through a model player (plays on arrival, no pre-buffer, an empty queue is a dropout).
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

from bench.live_signal import CHUNK_MS, RATE, Detector, source_chunk, with_noise
from broadcast.audio.ffmpeg import ffmpeg_exe

ICECAST_PASSWORD = "bench-source"  # noqa: S105 - loopback bench only
NOFILE = 8192


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0) -> None:
    """Wait until something accepts on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


def _more_files() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))


class Snapserver:
    """A snapserver on loopback with `channels` TCP sources, its stream port and its JSON-RPC port."""

    def __init__(self, buffer_ms: int, channels: int = 1, codec: str = "flac") -> None:
        """Prepare a server; codec is snapserver's codec, "@RATE" after it sets the stream's sample rate.

        "opus:…" needs stereo: `feed` then writes each sample to both channels.
        """
        name, _, rate = codec.partition("@")
        self.buffer_ms, self.channels, self.codec = buffer_ms, channels, name
        self.rate = int(rate or RATE)
        self.stereo = name.startswith("opus")
        self.dir = Path(tempfile.mkdtemp(prefix="bench-snap-"))
        self.port, self.control_port = free_port(), free_port()
        self.source_ports = [free_port() for _ in range(channels)]
        self.proc: subprocess.Popen[bytes] | None = None

    def feed(self, sink: Callable[[bytes], None]) -> Callable[[bytes], None]:
        """Return a sink taking the 48 kHz mono test signal and writing it in this stream's format."""
        if self.stereo:
            sink = stereo(sink)
        if self.rate != RATE:
            sink = decimated(sink, RATE // self.rate)
        return sink

    def client_cmd(self, port: int, host_id: str) -> list[str]:
        """Return the snapclient command for this stream; its output is always 48 kHz."""
        extra = ["--sampleformat", f"{RATE}:16:*"] if self.rate != RATE else []
        return snapclient_cmd(port, host_id) + extra

    def start(self) -> Snapserver:
        """Write the config and start the server; return when the stream port accepts."""
        sources = "\n".join(
            f"source = tcp://127.0.0.1:{p}?name=ch{i + 1}&mode=server"
            for i, p in enumerate(self.source_ports)
        )
        conf = self.dir / "snapserver.conf"
        conf.write_text(
            f"[server]\ndatadir = {self.dir}\n[http]\nenabled = false\n"
            f"[tcp]\nenabled = true\nbind_to_address = 127.0.0.1\nport = {self.control_port}\n"
            f"[stream]\nbind_to_address = 127.0.0.1\nport = {self.port}\n{sources}\n"
            f"codec = {self.codec}\nsampleformat = {self.rate}:16:{2 if self.stereo else 1}\n"
            f"buffer = {self.buffer_ms}\nchunk_ms = {CHUNK_MS}\n"
            "[logging]\nsink = null\n",
            encoding="utf-8",
        )
        self.proc = subprocess.Popen(
            ["snapserver", "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_more_files,
        )
        wait_port(self.port)
        return self

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL)."""
        _stop(self.proc)
        self.proc = None

    def close(self) -> None:
        """Stop the server and remove its directory."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Icecast:
    """An icecast2 on loopback: one mount, low burst, room for 2,000 listeners."""

    def __init__(self, burst_bytes: int = 4096) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="bench-ice-"))
        self.dir.chmod(0o777)
        self.port, self.burst = free_port(), burst_bytes
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Icecast:
        """Write the config and start icecast2; return when it accepts."""
        conf = self.dir / "icecast.xml"
        conf.write_text(
            f"""<icecast><location>bench</location><admin>bench@localhost</admin>
<limits><clients>2100</clients><sources>2</sources><queue-size>524288</queue-size>
<client-timeout>30</client-timeout><header-timeout>15</header-timeout><source-timeout>10</source-timeout>
<burst-on-connect>1</burst-on-connect><burst-size>{self.burst}</burst-size></limits>
<authentication><source-password>{ICECAST_PASSWORD}</source-password><admin-user>admin</admin-user>
<admin-password>{ICECAST_PASSWORD}</admin-password></authentication>
<hostname>127.0.0.1</hostname><listen-socket><port>{self.port}</port><bind-address>127.0.0.1</bind-address></listen-socket>
<paths><basedir>/usr/share/icecast2</basedir><logdir>{self.dir}</logdir><webroot>/usr/share/icecast2/web</webroot>
<adminroot>/usr/share/icecast2/admin</adminroot></paths>
<logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog><loglevel>2</loglevel></logging>
<security><chroot>0</chroot><changeowner><user>nobody</user><group>nogroup</group></changeowner></security>
</icecast>""",
            encoding="utf-8",
        )
        conf.chmod(0o644)
        self.proc = subprocess.Popen(
            ["icecast2", "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_more_files,
        )
        wait_port(self.port)
        return self

    def source_cmd(self, mount: str = "live") -> list[str]:
        """Return the ffmpeg command that encodes PCM on stdin to MP3 and pushes it to the mount."""
        return [
            ffmpeg_exe(None), "-hide_banner", "-loglevel", "error",
            "-f", "s16le", "-ar", str(RATE), "-ac", "1", "-i", "pipe:0",
            "-c:a", "libmp3lame", "-b:a", "64k", "-f", "mp3", "-content_type", "audio/mpeg",
            "-flush_packets", "1", f"icecast://source:{ICECAST_PASSWORD}@127.0.0.1:{self.port}/{mount}",
        ]  # fmt: skip

    def close(self) -> None:
        """Stop icecast2 and remove its directory."""
        _stop(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class Source(threading.Thread):
    """Write the test signal in real time to a sink; `written[k]` = monotonic time burst k was written."""

    def __init__(self, sink: Callable[[bytes], None]) -> None:
        super().__init__(daemon=True)
        self.sink = sink
        self.written: dict[int, float] = {}
        self.late_ms_max = 0.0
        self._halt = threading.Event()

    def run(self) -> None:
        """Pace chunk n at t0 + n * 20 ms until stopped or the sink breaks."""
        t0, n = time.monotonic(), 0
        while not self._halt.is_set():
            due = t0 + n * CHUNK_MS / 1000
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pcm, burst = source_chunk(n)
            try:
                self.sink(pcm)
            except OSError:
                return
            now = time.monotonic()
            self.late_ms_max = max(self.late_ms_max, (now - due) * 1000)
            if burst is not None:
                self.written[burst] = now
            n += 1

    def stop(self) -> None:
        """Stop writing."""
        self._halt.set()
        self.join(2)


def tcp_sink(port: int) -> Callable[[bytes], None]:
    """Return a sink writing to 127.0.0.1:port (a snapserver source in server mode)."""
    conn = socket.create_connection(("127.0.0.1", port), 5)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn.sendall


def stereo(sink: Callable[[bytes], None]) -> Callable[[bytes], None]:
    """Return a sink that writes each mono sample to both channels (Snapcast's opus needs stereo)."""

    def write(pcm: bytes) -> None:
        sink(np.repeat(np.frombuffer(pcm, dtype="<i2"), 2).tobytes())

    return write


def decimated(sink: Callable[[bytes], None], factor: int) -> Callable[[bytes], None]:
    """Return a sink keeping one sample in `factor` (the test tones lie far below the new Nyquist)."""

    def write(pcm: bytes) -> None:
        sink(np.frombuffer(pcm, dtype="<i2")[::factor].tobytes())

    return write


def noisy(sink: Callable[[bytes], None], dbfs: float) -> Callable[[bytes], None]:
    """Return a sink that adds a microphone's noise floor (white noise at dbfs RMS) before writing."""
    rng = np.random.default_rng(7)

    def write(pcm: bytes) -> None:
        sink(with_noise(pcm, dbfs, rng))

    return write


def pipe_sink(stream: IO[bytes]) -> Callable[[bytes], None]:
    """Return a sink writing to a process's stdin."""

    def write(pcm: bytes) -> None:
        stream.write(pcm)
        stream.flush()

    return write


def snapclient_cmd(port: int, host_id: str) -> list[str]:
    """Return the snapclient command that plays the stream at 127.0.0.1:port to stdout."""
    return ["snapclient", "-h", "127.0.0.1", "-p", str(port), "--hostID", host_id,
            "--player", "file:filename=stdout", "--logsink", "null"]  # fmt: skip


def ffmpeg_client_cmd(url: str) -> list[str]:
    """Return the ffmpeg command that decodes an HTTP MP3 stream to PCM on stdout, as soon as bytes arrive."""
    return [
        ffmpeg_exe(None), "-hide_banner", "-nostdin", "-loglevel", "error", "-fflags", "nobuffer",
        "-probesize", "32768", "-analyzeduration", "0", "-f", "mp3", "-i", url,
        "-f", "s16le", "-ac", "1", "-ar", str(RATE), "-flush_packets", "1", "pipe:1",
    ]  # fmt: skip


class Client(threading.Thread):
    """A client process whose stdout PCM goes through a Detector; paced=False puts a model player in front."""

    def __init__(self, cmd: list[str], *, paced: bool, channels: int = 1) -> None:
        super().__init__(daemon=True)
        self.cmd, self.paced, self.frame = cmd, paced, 2 * channels
        self.detector = Detector()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.started = time.monotonic()
        self.cpu0 = cpu_seconds(self.proc.pid)
        self.underruns: list[tuple[float, float]] = []
        self.bytes = 0
        self.cpu_s = 0.0
        self.rss_peak_kb = 0

    def run(self) -> None:
        """Read stdout until the process ends."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        play_end: float | None = None
        carry = b""
        while True:
            data = os.read(fd, 16384)
            now = time.monotonic()
            if not data:
                break
            data, carry = carry + data, b""
            cut = len(data) - len(data) % self.frame
            data, carry = data[:cut], data[cut:]
            if self.frame > 2:  # stereo (opus): the left channel is the signal
                data = np.frombuffer(data, dtype="<i2")[:: self.frame // 2].tobytes()
            self.bytes += len(data)
            span = len(data) / 2 / RATE
            if self.paced:
                self.detector.feed(data, now - span)
                continue
            if play_end is None or now > play_end:
                if play_end is not None:
                    self.underruns.append((play_end, now - play_end))
                play_end = now
            self.detector.feed(data, play_end)
            play_end += span

    def finish(self) -> None:
        """Record CPU and peak RSS, stop the process and the reader."""
        pid = self.proc.pid
        self.cpu_s = cpu_seconds(pid) - self.cpu0
        self.rss_peak_kb = rss_peak_kb(pid)
        self.wall_s = time.monotonic() - self.started
        _stop(self.proc)
        self.join(3)
        self.detector.close(time.monotonic())


def cpu_seconds(pid: int) -> float:
    """Return utime + stime of a process, in seconds (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_peak_kb(pid: int) -> int:
    """Return VmHWM (peak resident set) of a process in kB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def bytes_sent(port: int) -> int:
    """Return the bytes acknowledged on every established TCP connection from local port `port` (ss -ti)."""
    out = subprocess.run(
        ["ss", "-tinH", "state", "established", f"( sport = :{port} )"],
        capture_output=True, text=True, timeout=30, check=False,
    ).stdout  # fmt: skip
    return sum(int(m) for m in re.findall(r"bytes_acked:(\d+)", out))


def proc_snapshot(pid: int) -> dict[str, Any]:
    """Return CPU seconds and peak RSS of a process now."""
    return {"cpu_s": cpu_seconds(pid), "rss_peak_kb": rss_peak_kb(pid)}
