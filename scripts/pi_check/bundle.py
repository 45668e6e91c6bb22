"""The offline install: the station builds the agent bundle, the root installs it with no network."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def prepare(arch: str, root: Path, work: Path, logfile: Path) -> str:
    """Build the bundle for arch on this machine, put it into root; return the offline install script."""
    probe = subprocess.run(
        [sys.executable, "-m", "broadcast.cli", "agent-bundle", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        raise RuntimeError(f"`broadcast agent-bundle` is not available: {probe.stderr.strip()[-400:]}")
    raise RuntimeError("offline mode: bundle layout not wired yet")
