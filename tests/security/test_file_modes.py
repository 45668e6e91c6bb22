"""The station's SQLite database and its WAL files are readable by the station's user only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from broadcast.storage.db import make_private, sqlite_path
from tests.security.login_support import station_with_admin
from tests.support.station import running


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.integration
def test_a_running_station_keeps_its_database_files_private(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask: without care, files come out 0644
    try:
        station, token = station_with_admin(tmp_path / "station")
    finally:
        os.umask(old)
    if station.database_url is not None and sqlite_path(station.database_url) is None:
        pytest.skip("PostgreSQL pass: no database file")  # its files belong to the server
    with running(station):
        station.start()
        assert station.request("GET", "/api/devices", token)[0] == 200
        db = station.data_dir / "broadcast.db"
        files = [db, db.with_name("broadcast.db-wal"), db.with_name("broadcast.db-shm")]
        assert all(f.exists() for f in files), list(station.data_dir.iterdir())
        assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
        assert _mode(station.data_dir / "secrets") == 0o700


def test_an_existing_readable_database_is_made_private(tmp_path: Path) -> None:
    db = tmp_path / "var" / "broadcast.db"
    db.parent.mkdir()
    for suffix in ("", "-wal", "-shm"):
        path = db.with_name(db.name + suffix)
        path.write_bytes(b"")
        path.chmod(0o644)
    make_private(f"sqlite:///{db}")
    assert [_mode(db.with_name(db.name + s)) for s in ("", "-wal", "-shm")] == [0o600] * 3


def test_a_new_database_file_is_created_private(tmp_path: Path) -> None:
    db = tmp_path / "new" / "broadcast.db"
    make_private(f"sqlite:///{db}")
    assert _mode(db) == 0o600


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "postgresql://u@127.0.0.1/x"])
def test_urls_without_a_file_are_left_alone(url: str) -> None:
    assert sqlite_path(url) is None
    make_private(url)  # nothing to do, nothing raised
