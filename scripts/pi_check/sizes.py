"""What the agent costs on the SD card: installed Debian packages and the closures of the alternatives."""

from __future__ import annotations

import re
from pathlib import Path

from roots import chroot

# The playback and relay alternatives, each measured alone over a fresh root.
ALTERNATIVES: dict[str, list[str]] = {
    "mpg123": ["mpg123"],
    "ffmpeg": ["ffmpeg"],
    "snapclient": ["snapclient"],
    "alsa-utils": ["alsa-utils"],
    "python3-cryptography": ["python3-cryptography"],
    "python3-venv": ["python3-venv"],
}


def installed(root: Path) -> dict[str, int]:
    """Installed packages of root and their Installed-Size (KiB), read from dpkg's status file."""
    sizes: dict[str, int] = {}
    for stanza in (root / "var/lib/dpkg/status").read_text(errors="replace").split("\n\n"):
        fields = dict(re.findall(r"(?m)^([A-Za-z-]+): (.*)$", stanza))
        if fields.get("Status", "").endswith(" installed") and "Package" in fields:
            arch = fields.get("Architecture", "")
            name = fields["Package"] + (f":{arch}" if arch not in ("all", "") else "")
            sizes[name] = int(fields.get("Installed-Size", "0") or 0)
    return sizes


def added(before: dict[str, int], after: dict[str, int]) -> dict[str, object]:
    """Packages in after and not before, with their total Installed-Size."""
    new = sorted(set(after) - set(before))
    return {
        "packages": len(new),
        "installed_size_mib": round(sum(after[p] for p in new) / 1024, 1),
        "names": [p.split(":")[0] for p in new],
    }


def closure(root: Path, packages: list[str], recommends: bool = False) -> dict[str, object]:
    """apt's own answer for what installing packages would add to root (simulated; lists must be there).

    The packages apt would unpack (`apt-get install -s`), each with the Installed-Size (KiB) of the candidate
    version from `apt-cache show`; the same field dpkg records once it is installed.
    """
    flag = "--install-recommends" if recommends else "--no-install-recommends"
    simulated = chroot(root, f"apt-get install -s -y {flag} {' '.join(packages)}", capture=True).stdout
    names = re.findall(r"(?m)^Inst (\S+) ", simulated)
    total = 0
    if names:
        shown = chroot(root, f"apt-cache show --no-all-versions {' '.join(names)}", capture=True).stdout
        total = sum(int(s) for s in re.findall(r"(?m)^Installed-Size: (\d+)$", shown))
    return {"packages": len(names), "installed_size_mib": round(total / 1024, 1), "names": names}
