"""What goes into an agent bundle: the agent's requirements, the target's tags, the .debs kept, the manifest.

Pure logic (no pip, no apt, no files but the ones handed in): `wheels.py` and `debs.py` are the adapters.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PROJECT = "loa-xa"
EXTRA = "agent"
# Debian's packages serve these in the agent's venv (--system-site-packages): never a wheel for them.
APT_PROVIDED = frozenset({"cryptography", "cffi"})
# Every venv made by `python3 -m venv` has them (colorzero asks for setuptools).
VENV_PROVIDED = frozenset({"setuptools", "pip"})
# What playback needs from Debian (edge_agent/install/install.sh installs the same list online).
APT_PACKAGES = ("python3-venv", "python3-cryptography", "alsa-utils", "mpg123", "snapclient")
RELAY_PACKAGES = ("ffmpeg",)  # relaying internet radio streams; apt's ffmpeg is large (mesa, llvm)
# Every Debian system has the priority-required packages (even debootstrap --variant=minbase).
ALWAYS_INSTALLED_PRIORITIES = frozenset({"required"})


@dataclass(frozen=True)
class Target:
    """A Debian architecture and what pip calls the same machine."""

    arch: str  # Debian's name: armhf, arm64, amd64
    machine: str  # platform_machine / the manylinux suffix
    python_version: str = "3.11"  # Debian bookworm's python3

    def pip_platforms(self) -> list[str]:
        """Return the platform tags a bookworm Pi (glibc 2.36) accepts, for `pip download --platform`."""
        m = self.machine
        return [f"manylinux_2_{minor}_{m}" for minor in (36, 34, 31, 28, 17)] + [
            f"manylinux2014_{m}",
            f"linux_{m}",
        ]

    def marker_environment(self) -> dict[str, str]:
        """Return the PEP 508 environment of the target, for requirement markers."""
        env = {key: str(value) for key, value in default_environment().items()}
        env.update(
            platform_machine=self.machine,
            python_version=self.python_version,
            python_full_version=f"{self.python_version}.0",
            sys_platform="linux",
            platform_system="Linux",
            os_name="posix",
            implementation_name="cpython",
            platform_python_implementation="CPython",
        )
        return env


TARGETS = {
    "armhf": Target("armhf", "armv7l"),
    "arm64": Target("arm64", "aarch64"),
    "amd64": Target("amd64", "x86_64"),
}


class BundleError(Exception):
    """The bundle cannot be built as asked (one clear line for the command)."""


def target(arch: str) -> Target:
    """Return the target of a Debian architecture name."""
    try:
        return TARGETS[arch]
    except KeyError:
        raise BundleError(f"unknown architecture {arch!r}: one of {', '.join(TARGETS)}") from None


def requirements_of(metadata: str, extra: str, env: dict[str, str]) -> list[Requirement]:
    """Return the Requires-Dist of a METADATA text that apply with `extra` on `env` (no extras of theirs)."""
    message = Parser().parsestr(metadata)
    wanted: list[Requirement] = []
    for line in message.get_all("Requires-Dist") or []:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate({**env, "extra": extra}):
            wanted.append(requirement)
    return wanted


def version_of(metadata: str) -> str:
    """Return the Version of a METADATA text."""
    return (Parser().parsestr(metadata).get("Version") or "").strip()


def wheel_requirements(requirements: list[Requirement]) -> list[Requirement]:
    """Return the requirements the bundle's wheels must meet: all but what apt and the venv provide."""
    provided = APT_PROVIDED | VENV_PROVIDED
    kept = []
    for requirement in requirements:
        if canonicalize_name(requirement.name) not in provided:
            plain = Requirement(str(requirement))
            plain.marker = None  # already evaluated for the target: pip must not evaluate it again here
            kept.append(plain)
    return kept


@dataclass(frozen=True)
class Deb:
    """A downloaded Debian package, as its control file says."""

    path: Path
    package: str
    version: str
    priority: str


def debs_to_ship(debs: list[Deb]) -> list[Deb]:
    """Return the .debs a minimal system may lack, sorted by name (the required ones are left out)."""
    return sorted((d for d in debs if d.priority not in ALWAYS_INSTALLED_PRIORITIES), key=lambda d: d.package)


def packages_entry(control: str, filename: str, size: int, sha256: str) -> str:
    """Return a deb's paragraph of a flat repository's Packages index (its control + where and what)."""
    fields = control.strip("\n")
    return f"{fields}\nFilename: ./{filename}\nSize: {size}\nSHA256: {sha256}\n\n"


def sha256_of(path: Path) -> str:
    """Return the hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def manifest(root: Path, *, arch: str, version: str, with_relay: bool, config: bool) -> dict[str, object]:
    """Return bundle.json's content: what was built for which machine, and every file with its sha256."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name not in {"bundle.json", "SHA256SUMS"})
    return {
        "bundle": "loa-agent",
        "project": PROJECT,
        "version": version,
        "arch": arch,
        "python": target(arch).python_version,
        "with_relay": with_relay,
        "config": config,
        "files": [
            {"path": p.relative_to(root).as_posix(), "size": p.stat().st_size, "sha256": sha256_of(p)}
            for p in files
        ],
    }


def sha256sums(content: dict[str, object]) -> str:
    """Return SHA256SUMS for the manifest's files: install.sh checks them with coreutils' sha256sum."""
    files = content["files"]
    assert isinstance(files, list)
    return "".join(f"{entry['sha256']}  {entry['path']}\n" for entry in files)


def check_manifest(root: Path) -> list[str]:
    """Return the problems of an unpacked bundle against its bundle.json (empty: intact)."""
    data = json.loads((root / "bundle.json").read_text())
    problems = []
    for entry in data["files"]:
        path = root / entry["path"]
        if not path.is_file():
            problems.append(f"missing {entry['path']}")
        elif sha256_of(path) != entry["sha256"]:
            problems.append(f"altered {entry['path']}")
    return problems
