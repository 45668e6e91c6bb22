"""`broadcast agent-bundle` with no network, then install.sh from the bundle into a root with pip --no-index.

The wheels are repacked from this venv (--wheels installed), the .debs are two tiny packages made here
(--debs-from); "Debian's python3-cryptography" is this venv's cryptography on PYTHONPATH, as the Pi's
system site packages. The installed `edge-agent` then runs from the new venv.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
from importlib import metadata
from pathlib import Path

import pytest

from broadcast.agent_bundle.manifest import check_manifest
from broadcast.cli import main

pytestmark = pytest.mark.integration
INSTALL_SH = Path(__file__).resolve().parents[1] / "edge_agent" / "install" / "install.sh"


def _deb(out: Path, package: str, priority: str) -> None:
    tree = out.parent / f"tree-{package}"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN" / "control").write_text(
        f"Package: {package}\nVersion: 1.0\nArchitecture: all\nPriority: {priority}\n"
        "Maintainer: loa <loa@example.invalid>\nDescription: test package\n"
    )
    subprocess.run(["dpkg-deb", "--build", str(tree), str(out)], check=True, capture_output=True, timeout=60)


def _system_site(directory: Path) -> Path:
    """Return a directory holding (links to) cryptography and what it needs, like Debian's dist-packages."""
    directory.mkdir()
    for name in ("cryptography", "cffi", "pycparser"):
        dist = metadata.distribution(name)
        for top in sorted({f.parts[0] for f in dist.files or [] if not f.as_posix().startswith("..")}):
            source = Path(str(dist.locate_file(top)))
            if source.exists() and not (directory / top).exists():
                (directory / top).symlink_to(source)
    return directory


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb is not installed")
    debs = tmp_path / "debs"
    debs.mkdir()
    _deb(debs / "loa-test-player_1.0_all.deb", "loa-test-player", "optional")
    _deb(debs / "loa-test-base_1.0_all.deb", "loa-test-base", "required")
    config = tmp_path / "agent.toml"
    config.write_text('[agent]\ndevice_id = "pole-7"\n')
    out = tmp_path / "out" / "loa-agent-amd64.tar.gz"
    argv = ["agent-bundle", "--arch", "amd64", "--out", str(out), "--wheels", "installed"]
    assert main([*argv, "--debs-from", str(debs), "--config", str(config)]) == 0
    return out


def _install(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "ROOT": str(tmp_path / "root"),
        "PYTHON": sys.executable,
        "PYTHONPATH": str(tmp_path / "dist-packages"),
        "PIP_FIND_LINKS": "",  # only the bundle's wheels
        **(env or {}),
    }
    return subprocess.run(
        ["bash", str(INSTALL_SH), *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_bundle_built_offline_installs_with_no_index_and_runs(bundle: Path, tmp_path: Path) -> None:
    assert stat.S_IMODE(bundle.stat().st_mode) == 0o600  # it holds the device's MQTT password
    unpacked = tmp_path / "unpacked"
    with tarfile.open(bundle) as archive:
        archive.extractall(unpacked, filter="data")
    root = unpacked / "loa-agent-amd64"
    assert check_manifest(root) == []
    content = json.loads((root / "bundle.json").read_text())
    assert content["arch"] == "amd64" and content["config"] is True
    paths = {f["path"] for f in content["files"]}
    assert "debs/loa-test-player_1.0_all.deb" in paths and "debs/loa-test-base_1.0_all.deb" not in paths
    index = (root / "debs" / "Packages").read_text()  # the flat repository apt installs from on the Pi
    assert "Package: loa-test-player\n" in index and "Filename: ./loa-test-player_1.0_all.deb\n" in index
    assert "loa-test-base" not in index
    assert (root / "apt-packages").read_text().split() == [
        "python3-venv", "python3-cryptography", "alsa-utils", "mpg123", "snapclient",
    ]  # fmt: skip
    wheels = sorted(p.split("/")[1].split("-")[0] for p in paths if p.startswith("wheels/"))
    assert wheels == ["colorzero", "gpiozero", "loa_xa", "paho_mqtt"]  # cryptography comes from Debian
    assert os.access(root / "install.sh", os.X_OK)

    _system_site(tmp_path / "dist-packages")
    done = _install(tmp_path, "--bundle", str(bundle))
    assert done.returncode == 0, done.stderr
    assert "no network" in done.stderr
    target = tmp_path / "root"
    assert (target / "etc/loa-agent/agent.toml").read_text() == '[agent]\ndevice_id = "pole-7"\n'
    venv = target / "opt/loa-agent/venv"
    assert venv.is_symlink() and os.readlink(venv).startswith("venvs/")
    site = next((venv / "lib").glob("python3.*/site-packages"))
    assert (site / "paho").is_dir() and (site / "gpiozero").is_dir()
    assert not (site / "cryptography").exists()  # Debian's stays in use: nothing built on armhf
    assert not (site / "pip").exists() and not (site / "setuptools").exists()  # not needed to play
    ran = subprocess.run([str(venv / "bin/edge-agent"), "--help"], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0 and "--config" in ran.stdout


def test_a_damaged_bundle_is_refused_before_anything_changes(bundle: Path, tmp_path: Path) -> None:
    unpacked = tmp_path / "unpacked"
    with tarfile.open(bundle) as archive:
        archive.extractall(unpacked, filter="data")
    wheel = next((unpacked / "loa-agent-amd64" / "wheels").glob("paho_mqtt-*.whl"))
    wheel.write_bytes(wheel.read_bytes()[:-10])
    done = _install(tmp_path, "--bundle", str(unpacked / "loa-agent-amd64"))
    assert done.returncode == 1 and "the bundle is damaged" in done.stderr
    assert not (tmp_path / "root").exists()


def test_the_online_path_installs_a_built_wheel_with_its_agent_extra(bundle: Path, tmp_path: Path) -> None:
    """`install.sh --wheel`: pip resolves loa-xa[agent] itself (here from a local index of wheels)."""
    unpacked = tmp_path / "unpacked"
    with tarfile.open(bundle) as archive:
        archive.extractall(unpacked, filter="data")
    wheels = unpacked / "loa-agent-amd64" / "wheels"
    project = next(wheels.glob("loa_xa-*.whl"))
    _system_site(tmp_path / "dist-packages")
    config = unpacked / "loa-agent-amd64" / "agent.toml"
    env = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels), "LOA_KEEP_PIP": "1"}
    done = _install(tmp_path, "--wheel", str(project), "--config", str(config), env=env)
    assert done.returncode == 0, done.stderr
    venv = tmp_path / "root/opt/loa-agent/venv"
    site = next((venv / "lib").glob("python3.*/site-packages"))
    assert (site / "gpiozero").is_dir() and (site / "pip").is_dir()  # the agent extra; pip kept when asked
    ran = subprocess.run([str(venv / "bin/edge-agent"), "--help"], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0
