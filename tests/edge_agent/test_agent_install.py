"""install.sh into a temporary root: unit, config, permissions, upgrade, uninstall; the unit verified."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

INSTALL_DIR = Path(__file__).resolve().parents[2] / "edge_agent" / "install"
INSTALL_SH = INSTALL_DIR / "install.sh"
UNIT = "etc/systemd/system/loa-agent.service"

Install = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def install(tmp_path: Path) -> Install:
    """Return run(*args, **env) -> the finished install.sh run into tmp_path/root (no pip, no apt)."""

    def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        environ = {
            **os.environ,
            "ROOT": str(tmp_path / "root"),
            "LOA_SKIP_PIP": "1",
            "PYTHON": sys.executable,
        }
        return subprocess.run(
            ["bash", str(INSTALL_SH), *args],
            env={**environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return run


@pytest.fixture
def config_file(tmp_path: Path, agent_toml: Callable[..., Path]) -> Path:
    return agent_toml(tmp_path / "agent.toml", relay_pin=17)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_install_lays_out_unit_config_state_and_venv(
    install: Install, config_file: Path, tmp_path: Path
) -> None:
    done = install("--config", str(config_file))
    assert done.returncode == 0, done.stderr
    root = tmp_path / "root"
    unit = (root / UNIT).read_text()
    for line in [
        "Type=notify",
        "Restart=always",
        "WatchdogSec=60",
        "User=loa",
        "ExecStart=/opt/loa-agent/venv/bin/edge-agent --config /etc/loa-agent/agent.toml "
        "--state-dir /var/lib/loa-agent --output alsa",
        "ExecStopPost=/opt/loa-agent/venv/bin/python -m edge_agent.gpio.failsafe "
        "--config /etc/loa-agent/agent.toml",
        "ReadWritePaths=/var/lib/loa-agent",
        "WorkingDirectory=/var/lib/loa-agent",
        "ProtectSystem=strict",
    ]:
        assert f"\n{line}\n" in unit, line
    assert "@" not in unit.replace("loa-agent.service", "")  # every placeholder filled
    assert _mode(root / UNIT) == 0o644
    config = root / "etc/loa-agent/agent.toml"
    assert config.read_bytes() == config_file.read_bytes()
    assert _mode(config) == 0o640  # it holds the device's MQTT password
    assert _mode(root / "etc/loa-agent") == 0o750
    assert _mode(root / "var/lib/loa-agent") == 0o750
    assert (root / "opt/loa-agent/venv/bin/python").exists()
    assert (root / "opt/loa-agent/README.md").exists()
    assert "systemctl not called" in done.stderr


def test_first_install_needs_a_config(install: Install, tmp_path: Path) -> None:
    done = install()
    assert done.returncode == 1 and "--config agent.toml" in done.stderr
    assert install("--config", str(tmp_path / "absent.toml")).returncode == 1


def test_upgrade_keeps_config_and_cache(install: Install, config_file: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    assert install("--config", str(config_file)).returncode == 0
    clip = root / "var/lib/loa-agent/clips" / ("a" * 64)
    clip.parent.mkdir(parents=True)
    clip.write_bytes(b"cached clip")
    (root / "var/lib/loa-agent/volume.json").write_text('{"level": 40}')
    done = install()  # the upgrade: new code, nothing else given
    assert done.returncode == 0, done.stderr
    assert "keeping the config" in done.stderr
    assert (root / "etc/loa-agent/agent.toml").read_bytes() == config_file.read_bytes()
    assert clip.read_bytes() == b"cached clip"
    assert (root / "var/lib/loa-agent/volume.json").exists()
    new_config = tmp_path / "new.toml"
    new_config.write_text(config_file.read_text().replace("secret", "rotated"))
    assert install("--config", str(new_config)).returncode == 0
    assert "rotated" in (root / "etc/loa-agent/agent.toml").read_text()
    assert (root / "etc/loa-agent/agent.toml.bak").read_bytes() == config_file.read_bytes()


def test_uninstall_keeps_config_and_state_unless_purged(
    install: Install, config_file: Path, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    assert install("--config", str(config_file)).returncode == 0
    done = install("--uninstall")
    assert done.returncode == 0, done.stderr
    assert not (root / UNIT).exists() and not (root / "opt/loa-agent").exists()
    assert (root / "etc/loa-agent/agent.toml").exists() and (root / "var/lib/loa-agent").is_dir()
    assert install("--uninstall", "--purge").returncode == 0
    assert not (root / "etc/loa-agent").exists() and not (root / "var/lib/loa-agent").exists()


def test_paths_are_overridable(install: Install, config_file: Path, tmp_path: Path) -> None:
    done = install(
        "--config", str(config_file), PREFIX="/srv/loa", CONF_DIR="/srv/conf", STATE_DIR="/data/loa",
        UNIT_DIR="/lib/systemd/system", AGENT_USER="speaker", OUTPUT="file:/data/loa/plays",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    root = tmp_path / "root"
    unit = (root / "lib/systemd/system/loa-agent.service").read_text()
    assert (
        "ExecStart=/srv/loa/venv/bin/edge-agent --config /srv/conf/agent.toml --state-dir /data/loa" in unit
    )
    assert "--output file:/data/loa/plays\n" in unit and "User=speaker\n" in unit
    assert (root / "srv/conf/agent.toml").exists() and (root / "data/loa").is_dir()


def test_unit_passes_systemd_analyze_verify(install: Install, config_file: Path, tmp_path: Path) -> None:
    assert install("--config", str(config_file)).returncode == 0
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    root = tmp_path / "root"
    # verify checks that ExecStart's programs exist on this host: point the unit at the temporary root.
    unit = (root / UNIT).read_text()
    for path in ("/opt/loa-agent", "/etc/loa-agent", "/var/lib/loa-agent"):
        unit = unit.replace(path, f"{root}{path}")
    edge_agent = root / "opt/loa-agent/venv/bin/edge-agent"
    edge_agent.write_text("#!/bin/sh\n")
    edge_agent.chmod(0o755)
    checked = tmp_path / "verify" / "loa-agent.service"
    checked.parent.mkdir()
    checked.write_text(unit)
    done = subprocess.run([analyze, "verify", str(checked)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == ""  # unknown keys and bad values are only warnings: none allowed


def _venvs(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "opt/loa-agent/venvs").iterdir())


def test_an_upgrade_builds_a_new_venv_beside_and_switches_the_link(
    install: Install, config_file: Path, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    assert install("--config", str(config_file)).returncode == 0
    link = root / "opt/loa-agent/venv"
    first = os.readlink(link)
    assert link.is_symlink() and first.startswith("venvs/") and _venvs(root) == [first.removeprefix("venvs/")]
    done = install()
    assert done.returncode == 0, done.stderr
    second = os.readlink(link)
    assert second != first and _venvs(root) == [second.removeprefix("venvs/")]  # the previous one removed


def test_a_failed_step_is_named_and_the_running_venv_stays(
    install: Install, config_file: Path, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    assert install("--config", str(config_file)).returncode == 0
    link = root / "opt/loa-agent/venv"
    running = os.readlink(link)
    failed = install(PYTHON=str(tmp_path / "no-python"))
    assert failed.returncode != 0
    assert "FAILED while creating the venv" in failed.stderr and "same command again" in failed.stderr
    assert os.readlink(link) == running and (link / "bin/python").exists()
    assert (root / "etc/loa-agent/agent.toml").read_bytes() == config_file.read_bytes()
    resumed = install()  # the same command again, the cause fixed
    assert resumed.returncode == 0, resumed.stderr
    assert _venvs(root) == [os.readlink(link).removeprefix("venvs/")]  # no half-made venv left over


def test_an_install_from_before_the_venv_link_is_switched_over(
    install: Install, config_file: Path, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    old = root / "opt/loa-agent/venv"
    (old / "bin").mkdir(parents=True)
    (old / "bin/edge-agent").write_text("#!/bin/sh\n")
    done = install("--config", str(config_file))
    assert done.returncode == 0, done.stderr
    assert old.is_symlink() and (old / "bin/python").exists()
    assert not (root / "opt/loa-agent/venv.old").exists()


def test_a_directory_that_is_no_bundle_is_refused(install: Install, tmp_path: Path) -> None:
    done = install("--bundle", str(tmp_path))
    assert done.returncode == 1 and "not an agent bundle" in done.stderr
