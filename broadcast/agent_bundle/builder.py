"""Lay out an agent bundle and pack it: install.sh + unit + README, wheels, .debs, config, bundle.json.

    loa-agent-armhf/
      install.sh  loa-agent.service  README.md  bundle.json  [agent.toml]
      wheels/  loa_xa-<version>-py3-none-any.whl, paho_mqtt-..., gpiozero-..., colorzero-...
      debs/    what a minimal bookworm lacks for playback (python3-venv, python3-cryptography, mpg123, ...)

On the Pi: `tar xzf loa-agent-armhf.tar.gz && sudo loa-agent-armhf/install.sh [--config agent.toml]`.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from broadcast.agent_bundle import debs as debs_adapter
from broadcast.agent_bundle import wheels as wheels_adapter
from broadcast.agent_bundle.manifest import (
    APT_PACKAGES,
    EXTRA,
    RELAY_PACKAGES,
    BundleError,
    Deb,
    debs_to_ship,
    manifest,
    requirements_of,
    sha256sums,
    target,
    version_of,
    wheel_requirements,
)

INSTALL_FILES = ("install.sh", "loa-agent.service")


@dataclass(frozen=True)
class BundleRequest:
    """What `broadcast agent-bundle` was asked for."""

    arch: str
    out: Path  # .tar.gz
    source: Path  # the project's source tree (pyproject.toml, broadcast/, edge_agent/)
    with_relay: bool = False
    config: Path | None = None  # baked in for one device (it holds that device's MQTT password)
    project_wheel: Path | None = None  # instead of building one from source
    wheels: str = "pypi"  # "pypi", "installed" (repack this Python's), or a directory of wheels
    debs: str = "download"  # "download", "none", or a directory of .debs
    apt_sources: Path | None = None  # a sources.list for the target instead of the host's


@dataclass(frozen=True)
class Bundle:
    """The bundle written: where, and what it holds."""

    path: Path
    version: str
    wheels: list[str]  # file names
    debs: list[str]  # package=version
    debs_size: int
    size: int


def build(request: BundleRequest) -> Bundle:
    """Build the bundle of `request` into request.out (written whole or not at all)."""
    tgt = target(request.arch)
    if request.config is not None and not request.config.is_file():
        raise BundleError(f"no such config file: {request.config}")
    install_dir = request.source / "edge_agent" / "install"
    if not all((install_dir / name).is_file() for name in INSTALL_FILES):
        raise BundleError(f"no install.sh and unit in {install_dir}: give the project's source tree")
    name = request.out.name.removesuffix(".tar.gz").removesuffix(".tgz")
    with tempfile.TemporaryDirectory(prefix="loa-bundle-") as tmp:
        root = Path(tmp) / name
        wheel_dir = root / "wheels"
        root.mkdir()
        for file in INSTALL_FILES:
            shutil.copy2(install_dir / file, root / file)
        (root / "install.sh").chmod(0o755)
        shutil.copy2(request.source / "edge_agent" / "README.md", root / "README.md")
        if request.config is not None:
            shutil.copy2(request.config, root / "agent.toml")
            (root / "agent.toml").chmod(0o600)

        if request.project_wheel is not None:
            wheel_dir.mkdir()
            project = Path(shutil.copy2(request.project_wheel, wheel_dir / request.project_wheel.name))
        else:
            project = wheels_adapter.build_project_wheel(request.source, wheel_dir)
        text = wheels_adapter.wheel_metadata(project)
        version = version_of(text)
        needed = wheel_requirements(requirements_of(text, EXTRA, tgt.marker_environment()))
        if request.wheels == "installed":
            wheels_adapter.repack_installed(needed, tgt, wheel_dir)
        else:
            links = None if request.wheels == "pypi" else Path(request.wheels)
            wheels_adapter.download(needed, tgt, wheel_dir, links)

        shipped = _debs(request, Path(tmp) / "apt")
        if shipped:
            (root / "debs").mkdir()
            for deb in shipped:
                shutil.copy2(deb.path, root / "debs" / deb.path.name)
            # A flat repository: apt on the Pi picks from it only what that system lacks.
            debs_adapter.write_packages_index(root / "debs")
            (root / "apt-packages").write_text("\n".join(apt_packages(request.with_relay)) + "\n")

        content = manifest(
            root,
            arch=tgt.arch,
            version=version,
            with_relay=request.with_relay,
            config=request.config is not None,
        )
        (root / "bundle.json").write_text(json.dumps(content, indent=1) + "\n")
        (root / "SHA256SUMS").write_text(sha256sums(content))
        _pack(root, request.out, private=request.config is not None)
        return Bundle(
            request.out,
            version,
            sorted(p.name for p in wheel_dir.glob("*.whl")),
            [f"{deb.package}={deb.version}" for deb in shipped],
            sum(deb.path.stat().st_size for deb in shipped),
            request.out.stat().st_size,
        )


def _debs(request: BundleRequest, work: Path) -> list[Deb]:
    if request.debs == "none":
        return []
    if request.debs != "download":
        return debs_to_ship(debs_adapter.local_debs(Path(request.debs)))
    packages = apt_packages(request.with_relay)
    return debs_to_ship(debs_adapter.download_debs(packages, request.arch, work, request.apt_sources))


def apt_packages(with_relay: bool) -> list[str]:
    """Return the Debian packages the agent asks for (install.sh installs them with their dependencies)."""
    return list(APT_PACKAGES) + (list(RELAY_PACKAGES) if with_relay else [])


def _pack(root: Path, out: Path, *, private: bool) -> None:
    """Write root as out (.tar.gz) through a temporary file: a failed build leaves no half bundle."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    try:
        with tarfile.open(partial, "w:gz") as archive:
            archive.add(root, arcname=root.name, filter=_owned_by_root)
        partial.chmod(0o600 if private else 0o644)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)


def _owned_by_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info
