"""snapclient, the agent's one adapter for it: find it, its command line, run it, read its PCM.

A live broadcast reaches the agent through the station's Snapcast server. snapclient keeps its clock in
step with the server's and writes the session's audio to stdout as raw PCM, paced in real time (silence
while the server has nothing for it), so every speaker of a zone hears the same sample at the same
wall-clock time. Every snapclient process the agent runs is started here.
"""

from __future__ import annotations

import shutil
import subprocess

from edge_agent.outputs.base import OutputError
from edge_agent.outputs.child import PcmChild
from edge_agent.outputs.ffmpeg import SAMPLE_RATE

# Snapcast 0.26 resamples but does not mix down: the channel count must be "*" (the source's). The
# station's live streams are mono, so this is s16le mono PCM at the agent's rate, like every decode.
SAMPLE_FORMAT = f"{SAMPLE_RATE}:16:*"


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


class SnapSource(PcmChild):
    """One snapclient process; `error` is its last complaint, once closed."""

    def __init__(self, command: list[str]) -> None:
        try:
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        except OSError as exc:
            raise OutputError(f"cannot start snapclient: {exc}") from exc
        super().__init__(process)
        self.error = ""

    def close(self) -> str:
        """End snapclient if it still runs; keep its last complaint in `error`."""
        said = super().close()
        self.error = _complaint(said)
        return said


def _complaint(log: str) -> str:
    """Return the last error-ish line of snapclient's log, without its timestamp (or the last line)."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    worst = [line for line in lines if "[Error]" in line or "[Fatal]" in line] or lines[-1:]
    if not worst:
        return ""
    line = worst[-1]
    start = line.find("[")
    return (line[start:] if start >= 0 else line)[:300]
