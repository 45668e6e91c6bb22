"""A real `broadcast serve`: backed up while it serves, and never overwritten by a restore while it runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from broadcast.backup import list_backups
from broadcast.backup.destination import DirectoryDestination
from broadcast.backup.running import lock_held
from tests.backup.station_data import PASSPHRASE
from tests.support.station import StationProcess, running


@pytest.mark.integration
def test_a_serving_station_is_backed_up_and_refuses_a_restore_over_it(tmp_path: Path) -> None:
    station = StationProcess(tmp_path / "station")
    station.data_dir.mkdir()
    secret = tmp_path / "passphrase.txt"
    secret.write_text(PASSPHRASE, encoding="utf-8")
    usb = tmp_path / "usb"
    with running(station):
        station.start()
        out = station.cli("backup", "--to", str(usb), "--passphrase-file", str(secret))
        assert "written to" in out
        before = sorted(p.name for p in (station.data_dir / "secrets").iterdir())
        refused = subprocess.run(
            [
                sys.executable,
                "-m",
                "broadcast.cli",
                "restore",
                "--from",
                str(usb),
                "--passphrase-file",
                str(secret),
            ],
            env=station.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert refused.returncode == 2, refused.stderr
        assert "a station is running" in refused.stderr
        assert lock_held(station.data_dir)  # `serve` holds the lock: seen even with an outside broker
        assert sorted(p.name for p in (station.data_dir / "secrets").iterdir()) == before
        assert not list(tmp_path.glob(".station.restore-*"))
    [backup] = list_backups(DirectoryDestination(usb))
    assert backup.complete and backup.database_kind in ("sqlite", "postgresql")
