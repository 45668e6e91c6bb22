"""The `broadcast backup` / `backup list` / `backup prune` / `restore` commands: output and exit codes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from broadcast.backup import read_restore_marker
from broadcast.cli import main
from tests.backup.station_data import PASSPHRASE, populate, station_settings, tree


@pytest.fixture
def station(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("BROADCAST_BACKUP"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("BROADCAST_DATA_DIR", str(tmp_path / "station"))
    populate(station_settings(tmp_path / "station"), users=1, commands_issued=2, clips=2)
    secret = tmp_path / "passphrase.txt"
    secret.write_text(PASSPHRASE + "\n", encoding="utf-8")
    return secret


def test_backup_list_restore_and_prune_from_the_command_line(
    station: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    usb = str(tmp_path / "usb")
    assert main(["backup", "--to", usb, "--passphrase-file", str(station)]) == 0
    out = capsys.readouterr().out
    assert "clips: 2 new, 0 already there" in out

    monkeypatch.setenv("BROADCAST_BACKUP_PASSPHRASE", PASSPHRASE)
    crashed = tmp_path / "usb" / "backups" / "20200101T000000Z"
    crashed.mkdir()
    (crashed / "database.enc").write_bytes(b"the start of a backup that never finished")
    assert main(["backup", "list", "--from", usb]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert "INCOMPLETE" in listing[0] and "sqlite  2 clips" in listing[1]

    monkeypatch.setenv("BROADCAST_DATA_DIR", str(tmp_path / "new"))
    assert main(["restore", "--from", usb]) == 0
    assert "Restored into" in capsys.readouterr().out
    assert read_restore_marker(tmp_path / "new") is not None

    assert main(["backup", "prune", "--from", usb, "--keep", "1"]) == 0
    assert "deleted 1 backups (20200101T000000Z)" in capsys.readouterr().out


def test_refusals_print_one_line_and_exit_2(
    station: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    usb = str(tmp_path / "usb")
    assert main(["backup", "--to", usb, "--passphrase-file", str(station)]) == 0
    capsys.readouterr()
    monkeypatch.setenv("BROADCAST_DATA_DIR", str(tmp_path / "new"))
    monkeypatch.setenv("BROADCAST_BACKUP_PASSPHRASE", "wrong one")

    assert main(["restore", "--from", usb]) == 2
    assert capsys.readouterr().err.startswith("Refused: wrong passphrase")
    assert main(["restore", "--from", usb, "--backup", "20990101T000000Z"]) == 2
    assert "no backup 20990101T000000Z" in capsys.readouterr().err
    assert tree(tmp_path / "new") == {}
