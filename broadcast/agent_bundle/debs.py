"""Download Debian packages for another architecture with a private apt configuration.

apt-get runs with its state, cache and status in a temporary directory and the target's architecture:
the host's dpkg architectures, package lists and cache are never touched. The sources are the host's
(`/etc/apt/sources.list{,.d}`), or a sources file given for the target (e.g. Raspberry Pi OS's archive).
The status is empty, so apt fetches the whole dependency closure; the bundle then leaves out what every
system has (manifest.debs_to_ship) and install.sh skips what the Pi already has.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from broadcast.agent_bundle.manifest import BundleError, Deb, packages_entry, sha256_of

_FIELDS = ("Package", "Version", "Priority")


def _apt_options(work: Path, arch: str, sources: Path | None) -> list[str]:
    options = {
        "APT::Architecture": arch,
        "APT::Architectures": arch,
        "APT::Install-Recommends": "false",
        "Dir::State": str(work / "state"),
        "Dir::State::status": str(work / "status"),
        "Dir::Cache": str(work / "cache"),
        "Debug::NoLocking": "1",
    }
    if sources is not None:
        options["Dir::Etc::SourceList"] = str(sources.resolve())
        options["Dir::Etc::SourceParts"] = str(work / "no-parts")
    argv: list[str] = []
    for key, value in options.items():
        argv += ["-o", f"{key}={value}"]
    return argv


UPDATE_TRIES = 3  # a mirror caught mid-sync ("File has unexpected size") is usually whole again soon
UPDATE_PAUSE_S = 10.0


def _apt_errors(argv: list[str]) -> str | None:
    """Run apt-get; return what went wrong, or None."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=1200, check=False)
    # apt-get update exits 0 even when an index failed to download: its "E:" lines count too.
    errors = [line for line in (done.stdout + done.stderr).splitlines() if line.startswith(("E:", "Err:"))]
    if done.returncode != 0 or errors:
        return "\n".join(errors) or (done.stderr or done.stdout).strip()[-1500:]
    return None


def _apt(argv: list[str], what: str, tries: int = 1, pause_s: float = UPDATE_PAUSE_S) -> None:
    for attempt in range(tries):
        if attempt:
            time.sleep(pause_s)
        detail = _apt_errors(argv)
        if detail is None:
            return
    hint = ""
    if what == "update":
        hint = "\n(an index of the sources failed: --apt-sources FILE can name only the suites the Pi needs)"
    raise BundleError(f"apt-get {what} failed:\n{detail}{hint}")


def download_debs(packages: list[str], arch: str, work: Path, sources: Path | None = None) -> list[Deb]:
    """Download `packages` and everything they depend on for `arch` into work/cache; return them."""
    for sub in ("state/lists/partial", "cache/archives/partial", "no-parts"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    (work / "status").touch()
    options = _apt_options(work, arch, sources)
    _apt(["apt-get", *options, "update"], "update", tries=UPDATE_TRIES)
    _apt(["apt-get", *options, "install", "-y", "--download-only", *packages], "install --download-only")
    return [read_deb(path) for path in sorted((work / "cache/archives").glob("*.deb"))]


def read_deb(path: Path) -> Deb:
    """Return the control fields of a .deb that decide whether it ships."""
    values = []
    for field in _FIELDS:
        done = subprocess.run(
            ["dpkg-deb", "--field", str(path), field], capture_output=True, text=True, timeout=60, check=False
        )
        if done.returncode != 0:
            raise BundleError(f"not a Debian package: {path.name}: {done.stderr.strip()}")
        values.append(done.stdout.strip())
    return Deb(path, values[0], values[1], values[2] or "optional")


def local_debs(directory: Path) -> list[Deb]:
    """Return the .debs of a directory prepared by hand (--debs-from)."""
    debs = [read_deb(path) for path in sorted(directory.glob("*.deb"))]
    if not debs:
        raise BundleError(f"no .deb files in {directory}")
    return debs


def write_packages_index(directory: Path) -> Path:
    """Write `Packages` for the .debs of `directory`: a flat repository apt on the Pi resolves against."""
    entries = []
    for path in sorted(directory.glob("*.deb")):
        done = subprocess.run(
            ["dpkg-deb", "--field", str(path)], capture_output=True, text=True, timeout=60, check=False
        )
        if done.returncode != 0:
            raise BundleError(f"not a Debian package: {path.name}: {done.stderr.strip()}")
        entries.append(packages_entry(done.stdout, path.name, path.stat().st_size, sha256_of(path)))
    index = directory / "Packages"
    index.write_text("".join(entries))
    return index
