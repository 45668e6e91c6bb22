"""Backup and restore of a SQLite station into a directory: equal after the round trip, incremental,
and every refusal leaves the target exactly as it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from broadcast.backup import (
    BackupError,
    CorruptBackup,
    DestinationError,
    OtherStation,
    StationRunning,
    list_backups,
    open_destination,
    prune,
    read_restore_marker,
    restore_backup,
    run_backup,
    seq_guard,
    station_running,
)
from broadcast.backup.destination import DirectoryDestination
from broadcast.clipstore.store import LocalClipStore
from broadcast.config import Settings
from tests.backup.station_data import PASSPHRASE, files, populate, rows, station_settings, tree

T0 = datetime(2026, 3, 1, 2, 30, tzinfo=UTC)


@pytest.fixture
def no_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    """Leave out the command-number guard: these tests check the restored bytes as they were backed up."""
    monkeypatch.setattr(seq_guard, "after_restore", lambda settings, manifest: [])


@pytest.fixture
def station(tmp_path: Path) -> Settings:
    settings = station_settings(tmp_path / "station")
    populate(settings)
    return settings


@pytest.fixture
def backed_up(station: Settings, tmp_path: Path) -> DirectoryDestination:
    dest = DirectoryDestination(tmp_path / "usb")
    run_backup(station, dest, PASSPHRASE, now=T0)
    return dest


def test_restore_gives_back_every_row_clip_and_secret(
    station: Settings, backed_up: DirectoryDestination, tmp_path: Path, no_guard: None
) -> None:
    target = station_settings(tmp_path / "new-machine" / "var")
    result = restore_backup(target, backed_up, PASSPHRASE)

    assert rows(target.database) == rows(station.database)
    assert files(target.clips_dir) == files(station.clips_dir)
    assert files(target.secrets_dir) == files(station.secrets_dir)  # byte-identical, same 0600 modes
    assert (target.data_dir / "agent_url").read_bytes() == (station.data_dir / "agent_url").read_bytes()
    assert result.replaced_dir is None
    marker = read_restore_marker(target.data_dir)
    assert marker is not None
    assert marker["backup_id"] == "20260301T023000Z"
    assert marker["station_id"] == result.manifest.station_id
    assert sorted(p.name for p in target.data_dir.parent.iterdir()) == ["var"]  # no staging left


def test_secrets_and_database_never_leave_in_clear(
    station: Settings, backed_up: DirectoryDestination
) -> None:
    stored = b"".join(files(backed_up.root)[name][0] for name in files(backed_up.root))
    kept = files(station.secrets_dir)
    assert {"station_ed25519.pem", "web_secret", "mqtt_station_password", "mqtt-ca/ca.key"} <= set(kept)
    for name, (secret, _mode) in kept.items():
        if name != "station_id":  # the id is no secret: the manifest names it
            assert secret.strip() not in stored, name
    assert b"officer1" not in stored and b"SQLite format" not in stored


def test_a_second_backup_stores_only_the_new_clips(
    station: Settings, backed_up: DirectoryDestination
) -> None:
    store = LocalClipStore(station.clips_dir)
    store.put(b"ID3 one more bulletin")
    store.put(b"ID3 and another")

    second = run_backup(station, backed_up, PASSPHRASE, now=T0 + timedelta(days=1))

    assert (second.new_clips, second.reused_clips) == (2, 4)
    assert len(list(backed_up.root.joinpath("clips").iterdir())) == 6
    assert len(second.manifest.clips) == 6
    assert [b.backup_id for b in list_backups(backed_up)] == ["20260301T023000Z", "20260302T023000Z"]


def test_prune_keeps_the_newest_and_the_clips_they_need(
    station: Settings, backed_up: DirectoryDestination
) -> None:
    gone = LocalClipStore(station.clips_dir)
    old_clip = sorted(station.clips_dir.iterdir())[0]
    gone.delete(old_clip.stem)
    run_backup(station, backed_up, PASSPHRASE, now=T0 + timedelta(days=1))
    (backed_up.root / "backups" / "20260303T000000Z").mkdir()  # a crashed backup, older than the newest
    (backed_up.root / "backups" / "20260303T000000Z" / "database.enc").write_bytes(b"partial")
    run_backup(station, backed_up, PASSPHRASE, now=T0 + timedelta(days=3))

    result = prune(backed_up, keep=2)

    assert result.deleted_backups == ["20260301T023000Z", "20260303T000000Z"]
    assert result.deleted_clips == 1
    assert not (backed_up.root / "clips" / old_clip.name).exists()
    assert [b.backup_id for b in list_backups(backed_up)] == ["20260302T023000Z", "20260304T023000Z"]


def _refused_without_change(
    target: Settings, dest: DirectoryDestination, passphrase: str = PASSPHRASE
) -> str:
    before = tree(target.data_dir.parent)
    with pytest.raises(BackupError) as caught:
        restore_backup(target, dest, passphrase)
    assert tree(target.data_dir.parent) == before  # nothing half-restored, no staging left behind
    return str(caught.value)


def test_a_wrong_passphrase_is_refused(backed_up: DirectoryDestination, tmp_path: Path) -> None:
    message = _refused_without_change(station_settings(tmp_path / "m" / "var"), backed_up, "sai mật khẩu")
    assert "wrong passphrase" in message


def _member(dest: DirectoryDestination, name: str) -> Path:
    return next(dest.root.joinpath("backups").glob(f"*/{name}"))


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda d: _truncate(_member(d, "database.enc"), 100), "truncated"),
        (lambda d: _truncate(_member(d, "secrets.enc"), 1), "truncated"),
        (lambda d: _truncate(next(d.root.joinpath("clips").iterdir()), 10), "truncated"),
        (lambda d: _flip(_member(d, "database.enc")), "damaged"),
        (lambda d: next(d.root.joinpath("clips").iterdir()).unlink(), "missing"),
        (lambda d: _member(d, "manifest.json").write_bytes(b'{"format": 1, "backup'), "damaged"),
        (lambda d: _edit_manifest(_member(d, "manifest.json")), "altered"),
        (lambda d: _member(d, "manifest.json").unlink(), "no complete backup"),
    ],
)
def test_a_damaged_or_truncated_backup_is_refused(
    backed_up: DirectoryDestination, tmp_path: Path, damage: object, expected: str
) -> None:
    damage(backed_up)  # type: ignore[operator]
    message = _refused_without_change(station_settings(tmp_path / "m" / "var"), backed_up)
    assert expected in message


def _truncate(path: Path, by: int) -> None:
    path.write_bytes(path.read_bytes()[:-by])


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(data))


def _edit_manifest(path: Path) -> None:
    """Claim more rows than the backup holds (still valid JSON; only the signature can tell)."""
    data = json.loads(path.read_bytes())
    data["counts"]["users"] += 10
    path.write_text(json.dumps(data))


def test_an_incomplete_backup_is_refused_by_name(backed_up: DirectoryDestination, tmp_path: Path) -> None:
    _member(backed_up, "manifest.json").unlink()
    with pytest.raises(CorruptBackup, match="incomplete"):
        restore_backup(station_settings(tmp_path / "m" / "var"), backed_up, PASSPHRASE, "20260301T023000Z")


def test_a_backup_of_another_station_is_refused(backed_up: DirectoryDestination, tmp_path: Path) -> None:
    other = station_settings(tmp_path / "other" / "var")
    populate(other, users=1, commands_issued=1, clips=1)
    with pytest.raises(OtherStation):
        restore_backup(other, backed_up, PASSPHRASE)
    message = _refused_without_change(other, backed_up)
    assert "belongs to station" in message


def test_the_same_station_is_restored_over_its_data_dir_which_is_kept_aside(
    station: Settings, backed_up: DirectoryDestination, no_guard: None
) -> None:
    original = rows(station.database)
    (station.data_dir / "voices").mkdir()
    (station.data_dir / "voices" / "vi.onnx").write_bytes(b"voice")
    LocalClipStore(station.clips_dir).put(b"ID3 made after the backup")

    result = restore_backup(station, backed_up, PASSPHRASE, now=T0 + timedelta(hours=1))

    assert result.replaced_dir is not None and result.replaced_dir.name == "station.replaced-20260301T033000Z"
    assert rows(station.database) == original
    assert len(list(station.clips_dir.iterdir())) == 4
    assert (station.data_dir / "voices" / "vi.onnx").read_bytes() == b"voice"  # moved along, not in backups


@pytest.fixture
def holding_the_database(station: Settings) -> Iterator[None]:
    """A process with the station's SQLite file open, as a running `serve` has."""
    db = station.data_dir / "broadcast.db"
    code = (
        f"import sqlite3, time; c = sqlite3.connect({str(db)!r}); c.execute('select 1'); "
        "print(1, flush=True); time.sleep(60)"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert process.stdout is not None and process.stdout.readline()
    try:
        yield
    finally:
        process.kill()
        process.wait()


def test_a_running_station_is_not_overwritten(
    station: Settings, backed_up: DirectoryDestination, holding_the_database: None
) -> None:
    message = _refused_without_change(station, backed_up)
    assert "running" in message
    with pytest.raises(StationRunning):
        restore_backup(station, backed_up, PASSPHRASE)


def test_open_destination_reads_a_directory_and_refuses_unknown_schemes(tmp_path: Path) -> None:
    settings = station_settings(tmp_path / "s")
    assert isinstance(open_destination(str(tmp_path / "usb"), settings), DirectoryDestination)
    assert isinstance(open_destination(f"file://{tmp_path}/usb", settings), DirectoryDestination)
    with pytest.raises(DestinationError, match="unknown backup destination"):
        open_destination("ftp://host/x", settings)


def test_a_backup_needs_a_passphrase(station: Settings, tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="passphrase"):
        run_backup(station, DirectoryDestination(tmp_path / "usb"), "")
    with pytest.raises(BackupError, match="at least 8 characters"):
        run_backup(station, DirectoryDestination(tmp_path / "usb"), "1234567")
    assert not (tmp_path / "usb").exists()


def test_a_station_holding_its_lock_is_not_overwritten(
    station: Settings, backed_up: DirectoryDestination
) -> None:
    code = (
        "import sys, time; from pathlib import Path; from broadcast.backup.running import station_lock\n"
        "with station_lock(Path(sys.argv[1])):\n    print(1, flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, str(station.data_dir)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline()
        assert "holds" in _refused_without_change(station, backed_up)
    finally:
        holder.kill()
        holder.wait()
    assert station_running(station) is None


def test_the_work_dir_of_a_killed_backup_is_removed_a_day_later(station: Settings, tmp_path: Path) -> None:
    stale, fresh = station.data_dir / ".backup-killed", station.data_dir / ".backup-running"
    for leftover in (stale, fresh):
        leftover.mkdir()
        (leftover / "database.raw").write_bytes(b"plain copy")
    os.utime(stale, (time.time() - 2 * 86400, time.time() - 2 * 86400))

    run_backup(station, DirectoryDestination(tmp_path / "usb"), PASSPHRASE, now=T0)

    assert not stale.exists() and fresh.exists()
