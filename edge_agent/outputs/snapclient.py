"""snapclient, the agent's one adapter for it: find it, its command line, run it, read its PCM.

A live broadcast reaches the agent through the station's Snapcast server. snapclient keeps its clock in
step with the server's and writes the session's audio to stdout as raw PCM, paced in real time (silence
while the server has nothing for it), so every speaker of a zone hears the same sample at the same
wall-clock time. Every snapclient process the agent runs is started here.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
from collections.abc import Iterator

from edge_agent.outputs.base import OutputError
from edge_agent.outputs.ffmpeg import SAMPLE_RATE, end_process

# Snapcast 0.26 resamples but does not mix down: the channel count must be "*" (the source's). The
# station's live streams are mono, so this is s16le mono PCM at the agent's rate, like every decode.
SAMPLE_FORMAT = f"{SAMPLE_RATE}:16:*"
_READ = 8192
_POLL_S = 0.05


def find_snapclient(configured: str = "") -> str:
    """Return the configured snapclient, else the one on PATH; else raise OutputError saying how."""
    name = configured or "snapclient"
    found = shutil.which(name)
    if found is None:
        raise OutputError(
            f"{name!r} not found: install it (apt install snapclient) or set snapclient in agent.toml"
        )
    return found


def snapclient_command(executable: str, host: str, port: int, host_id: str, latency_ms: int = 0) -> list[str]:
    """Return the command that plays the server's stream for client `host_id` as PCM on stdout."""
    command = [
        executable,
        "-h",
        host,
        "-p",
        str(port),
        "--hostID",
        host_id,
        "--player",
        "file:filename=stdout",
        "--sampleformat",
        SAMPLE_FORMAT,
        "--logsink",
        "stderr",
    ]
    return [*command, "--latency", str(latency_ms)] if latency_ms else command


class SnapSource:
    """One snapclient process; its stderr is drained so it never blocks on it."""

    def __init__(self, command: list[str]) -> None:
        try:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        except OSError as exc:
            raise OutputError(f"cannot start snapclient: {exc}") from exc
        self._stderr = b""
        self.error = ""

    def __enter__(self) -> SnapSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def chunks(self, poll_s: float = _POLL_S) -> Iterator[bytes]:
        """Yield PCM as it arrives, and b"" after each poll_s without any; return when snapclient exits."""
        assert self.process.stdout is not None and self.process.stderr is not None
        out, err = self.process.stdout.fileno(), self.process.stderr.fileno()
        open_fds = [out, err]
        while out in open_fds:
            ready, _, _ = select.select(open_fds, [], [], poll_s)
            data = b""
            for fd in ready:
                read = os.read(fd, _READ)
                if not read:
                    open_fds.remove(fd)
                elif fd == out:
                    data = read
                else:
                    self._stderr = (self._stderr + read)[-4000:]
            if out in open_fds:
                yield data

    def close(self) -> None:
        """End snapclient if it still runs; keep its last complaint in `error`."""
        process = self.process
        end_process(process)
        if process.stderr is not None:
            with contextlib.suppress(OSError, ValueError):
                self._stderr += process.stderr.read()[-4000:]
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
        self.error = _complaint(self._stderr.decode(errors="replace"))


def _complaint(log: str) -> str:
    """Return the last error-ish line of snapclient's log, without its timestamp (or the last line)."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    worst = [line for line in lines if "[Error]" in line or "[Fatal]" in line] or lines[-1:]
    if not worst:
        return ""
    line = worst[-1]
    start = line.find("[")
    return (line[start:] if start >= 0 else line)[:300]
