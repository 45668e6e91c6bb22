"""The offline install: the station builds the agent bundle, the root installs it with no network."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def prepare(arch: str, root: Path, config: Path, work: Path, logfile: Path) -> tuple[str, int]:
    """Build the bundle for arch on this machine (`broadcast agent-bundle`), copy it into root.

    Return the install script to run in root with no network, and the bundle's size in bytes.
    """
    bundle = work / f"loa-agent-{arch}.tar.gz"
    bundle.unlink(missing_ok=True)
    command = [sys.executable, "-m", "broadcast.cli", "agent-bundle", "--arch", arch, "--out", str(bundle)]
    # The root's own sources (debootstrap: bookworm main), so the .debs match what the root has; this
    # host's sources would add bookworm-security and bookworm-updates.
    command += ["--apt-sources", str(root / "etc/apt/sources.list"), *extra_args()]
    with logfile.open("w") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        subprocess.run(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, check=True, timeout=1800)
    shutil.copy(bundle, root / "root" / bundle.name)
    shutil.copy(config, root / "root/agent.toml")
    script = f"cd /root && tar xzf {bundle.name} && loa-agent-{arch}/install.sh --config /root/agent.toml"
    return script, bundle.stat().st_size


def extra_args() -> list[str]:
    """More `agent-bundle` arguments from LOA_PI_BUNDLE_ARGS (e.g. "--with-relay")."""
    return os.environ.get("LOA_PI_BUNDLE_ARGS", "").split()
