"""The agent bundle's pure logic (requirements, targets, .debs kept, manifest) and its wheel writer."""

from __future__ import annotations

import json
import os
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from broadcast.agent_bundle import debs
from broadcast.agent_bundle.manifest import (
    BundleError,
    Deb,
    check_manifest,
    debs_to_ship,
    manifest,
    packages_entry,
    requirements_of,
    sha256sums,
    target,
    version_of,
    wheel_requirements,
)
from broadcast.agent_bundle.wheels import write_wheel

METADATA = """Metadata-Version: 2.1
Name: loa-xa
Version: 0.1.0
Requires-Dist: paho-mqtt<3,>=2.1
Requires-Dist: cryptography>=38
Requires-Dist: gpiozero<3,>=2.0; extra == "agent"
Requires-Dist: cryptography>=42; extra == "station"
Requires-Dist: fastapi>=0.115; extra == "station"
Requires-Dist: lgpio>=0.2; extra == "agent" and platform_machine == "aarch64"
Requires-Dist: tomli; extra == "agent" and python_version < "3.11"

"""


def test_the_agent_takes_its_extra_and_the_base_never_the_station() -> None:
    wanted = requirements_of(METADATA, "agent", target("armhf").marker_environment())
    assert [r.name for r in wanted] == ["paho-mqtt", "cryptography", "gpiozero"]
    on_arm64 = requirements_of(METADATA, "agent", target("arm64").marker_environment())
    assert [r.name for r in on_arm64] == ["paho-mqtt", "cryptography", "gpiozero", "lgpio"]
    assert version_of(METADATA) == "0.1.0"


def test_debian_serves_cryptography_so_no_wheel_is_fetched_for_it() -> None:
    needed = wheel_requirements(requirements_of(METADATA, "agent", target("armhf").marker_environment()))
    assert [str(r) for r in needed] == ["paho-mqtt<3,>=2.1", "gpiozero<3,>=2.0"]  # markers already applied


def test_targets_name_the_pi_machines_for_pip() -> None:
    armhf = target("armhf")
    assert armhf.machine == "armv7l" and "manylinux_2_17_armv7l" in armhf.pip_platforms()
    assert "linux_aarch64" in target("arm64").pip_platforms()
    with pytest.raises(BundleError, match="armel"):
        target("armel")


def test_every_system_has_the_required_packages_so_they_stay_out() -> None:
    debs = [
        Deb(Path("b.deb"), "python3-venv", "3.11.2-1", "optional"),
        Deb(Path("c.deb"), "libc6", "2.36-9", "required"),
        Deb(Path("a.deb"), "adduser", "3.134", "important"),  # minbase images lack it
    ]
    assert [d.package for d in debs_to_ship(debs)] == ["adduser", "python3-venv"]


def test_the_manifest_lists_every_file_with_its_digest(tmp_path: Path) -> None:
    (tmp_path / "wheels").mkdir()
    (tmp_path / "wheels" / "x.whl").write_bytes(b"wheel")
    (tmp_path / "install.sh").write_text("#!/bin/sh\n")
    content = manifest(tmp_path, arch="armhf", version="0.1.0", with_relay=False, config=False)
    (tmp_path / "bundle.json").write_text(json.dumps(content))
    assert [f["path"] for f in content["files"]] == ["install.sh", "wheels/x.whl"]  # type: ignore[attr-defined]
    assert content["arch"] == "armhf" and content["python"] == "3.11"
    assert sha256sums(content).splitlines()[1].endswith("  wheels/x.whl")
    assert check_manifest(tmp_path) == []
    (tmp_path / "wheels" / "x.whl").write_bytes(b"other")
    (tmp_path / "install.sh").unlink()
    assert check_manifest(tmp_path) == ["missing install.sh", "altered wheels/x.whl"]


def test_an_installed_pure_python_distribution_packs_back_into_a_wheel(tmp_path: Path) -> None:
    dist = metadata.distribution("paho-mqtt")
    wheel = write_wheel(dist, tmp_path)
    assert wheel.name == f"paho_mqtt-{dist.version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        record = archive.read(f"paho_mqtt-{dist.version}.dist-info/RECORD").decode()
    assert "paho/mqtt/client.py" in names
    assert not any("__pycache__" in n or n.endswith(("INSTALLER", "direct_url.json")) for n in names)
    assert "paho/mqtt/client.py,sha256=" in record
    assert write_wheel(dist, tmp_path / "again").read_bytes() == wheel.read_bytes()  # reproducible


def test_a_compiled_distribution_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="not a pure-Python wheel"):
        write_wheel(metadata.distribution("cryptography"), tmp_path)


def test_a_deb_enters_the_flat_repository_index_with_its_file_and_digest() -> None:
    control = "Package: mpg123\nVersion: 1.31.2-1\nArchitecture: armhf\nDepends: libmpg123-0\n"
    entry = packages_entry(control, "mpg123_1.31.2-1_armhf.deb", 1234, "ab" * 32)
    assert entry == control + f"Filename: ./mpg123_1.31.2-1_armhf.deb\nSize: 1234\nSHA256: {'ab' * 32}\n\n"


def _apt_get_failing(tmp_path: Path, times: int) -> Path:
    """Put an apt-get first on PATH that fails its first `times` runs as a mirror mid-sync does."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "apt-get"
    script.write_text(
        "#!/bin/sh\n"
        f'n=$(cat "{tmp_path}/runs" 2>/dev/null || echo 0); echo $((n + 1)) > "{tmp_path}/runs"\n'
        f'if [ "$n" -lt {times} ]; then echo "E: Failed to fetch Packages.xz  File has unexpected size"; fi\n'
    )
    script.chmod(0o755)
    return bin_dir


@pytest.mark.parametrize(("failures", "passes"), [(0, True), (2, True), (3, False)])
def test_apt_update_is_tried_again_then_refused_with_the_way_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failures: int, passes: bool
) -> None:
    monkeypatch.setenv("PATH", f"{_apt_get_failing(tmp_path, failures)}:{os.environ['PATH']}")
    if passes:
        debs._apt(["apt-get", "update"], "update", tries=3, pause_s=0)
    else:
        with pytest.raises(BundleError, match="unexpected size") as refused:
            debs._apt(["apt-get", "update"], "update", tries=3, pause_s=0)
        assert "--apt-sources" in str(refused.value)
    assert int((tmp_path / "runs").read_text()) == min(failures + 1, 3)
