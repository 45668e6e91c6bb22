"""Backups in an S3-compatible bucket (moto's server over real HTTP): the same round trip, incremental
clips and pruning as on a directory; a station whose clips already live in S3 copies none."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from broadcast.backup import (
    DestinationError,
    WrongPassphrase,
    list_backups,
    open_destination,
    prune,
    restore_backup,
    run_backup,
    seq_guard,
)
from broadcast.backup.s3 import S3Destination
from broadcast.clipstore import open_clip_storage
from broadcast.clipstore.store import LocalClipStore
from broadcast.config import Settings
from broadcast.storage.db import Database
from broadcast.storage.models import Clip
from tests.backup.station_data import PASSPHRASE, files, populate, rows, station_settings, tree
from tests.support.s3_server import ACCESS_KEY, REGION, SECRET_KEY, S3Server, s3_server

T0 = datetime(2026, 3, 1, 2, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


def _s3_settings(s3: S3Server, data_dir: Path, **extra: Any) -> Settings:
    return station_settings(
        data_dir,
        s3_endpoint=s3.endpoint,
        s3_access_key=ACCESS_KEY,
        s3_secret_key=SecretStr(SECRET_KEY),
        s3_region=REGION,
        **extra,
    )


@pytest.fixture
def no_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seq_guard, "after_restore", lambda settings, manifest: [])


def test_backup_to_s3_is_incremental_restorable_and_pruned(
    s3: S3Server, tmp_path: Path, no_guard: None
) -> None:
    station = _s3_settings(s3, tmp_path / "station")
    populate(station)
    dest = open_destination(f"s3://{s3.new_bucket()}/xa-an-binh/backups", station)
    assert isinstance(dest, S3Destination)

    first = run_backup(station, dest, PASSPHRASE, now=T0)
    LocalClipStore(station.clips_dir).put(b"ID3 the next day's bulletin")
    second = run_backup(station, dest, PASSPHRASE, now=T0 + timedelta(days=1))

    assert (first.new_clips, second.new_clips, second.reused_clips) == (4, 1, 4)
    assert [b.backup_id for b in list_backups(dest)] == ["20260301T023000Z", "20260302T023000Z"]
    target = _s3_settings(s3, tmp_path / "new" / "var")
    restore_backup(target, dest, PASSPHRASE)
    assert rows(target.database) == rows(station.database)
    assert files(target.clips_dir) == files(station.clips_dir)
    assert files(target.secrets_dir) == files(station.secrets_dir)

    assert prune(dest, keep=1).deleted_backups == ["20260301T023000Z"]
    assert [b.backup_id for b in list_backups(dest)] == ["20260302T023000Z"]


def test_a_wrong_passphrase_from_s3_changes_nothing(s3: S3Server, tmp_path: Path) -> None:
    station = _s3_settings(s3, tmp_path / "station")
    populate(station, users=1, commands_issued=1, clips=1)
    dest = open_destination(f"s3://{s3.new_bucket()}", station)
    run_backup(station, dest, PASSPHRASE, now=T0)
    target = _s3_settings(s3, tmp_path / "new" / "var")
    with pytest.raises(WrongPassphrase):
        restore_backup(target, dest, "not it")
    assert tree(tmp_path / "new") == {}


def test_clips_already_in_an_s3_clip_store_are_not_copied(s3: S3Server, tmp_path: Path) -> None:
    clip_store = f"s3://{s3.new_bucket()}/clips"
    station = _s3_settings(s3, tmp_path / "station", clip_store=clip_store)
    populate(station, users=1, commands_issued=1, clips=0)
    kept = open_clip_storage(station.clip_storage).put(b"ID3 kept in the bucket")
    db = Database(station.database)
    with db.session() as session:
        for sha in (kept, "0" * 64):  # the second clip is named by the database but gone from the store
            session.add(Clip(sha256=sha, size=1, duration_s=1.0, loudness_lufs=-16.0))
    db.dispose()
    dest = open_destination(str(tmp_path / "usb"), station)

    result = run_backup(station, dest, PASSPHRASE, now=T0)

    assert result.manifest.clips_kept_in == clip_store and result.manifest.clips == ()
    assert not (tmp_path / "usb" / "clips").exists()
    restored = restore_backup(_s3_settings(s3, tmp_path / "new", clip_store=clip_store), dest, PASSPHRASE)
    [said] = [line for line in restored.messages if clip_store in line]
    assert "WARNING: 1 clips the database names are not there (first 0000" in said
    elsewhere = restore_backup(_s3_settings(s3, tmp_path / "other"), dest, PASSPHRASE)
    assert any(f"set BROADCAST_CLIP_STORE={clip_store}" in line for line in elsewhere.messages)


def test_an_s3_destination_needs_an_endpoint(tmp_path: Path) -> None:
    with pytest.raises(DestinationError, match="BROADCAST_S3_ENDPOINT"):
        open_destination("s3://loa-backups/x", station_settings(tmp_path))
    with pytest.raises(DestinationError, match="s3://bucket/prefix"):
        open_destination("s3://No_Such/x", station_settings(tmp_path, s3_endpoint="http://127.0.0.1:9"))
