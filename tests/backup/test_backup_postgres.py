"""Backup and restore of a PostgreSQL station with the real pg_dump/pg_restore: equal after the round trip,
a consistent snapshot while a writer writes, and a database that is not empty is never overwritten."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from broadcast.backup import BackupError, restore_backup, run_backup, seq_guard
from broadcast.backup.database import find_tool, tables_in
from broadcast.backup.destination import DirectoryDestination
from tests.backup.station_data import PASSPHRASE, files, populate, rows, station_settings, tree
from tests.support import database

T0 = datetime(2026, 3, 1, 2, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def postgres() -> None:
    if not database.server_answers():
        pytest.skip("no PostgreSQL at 127.0.0.1:5432")
    find_tool("pg_dump")
    find_tool("pg_restore")


@pytest.fixture
def no_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seq_guard, "after_restore", lambda settings, manifest: [])


def test_a_postgresql_station_comes_back_equal(tmp_path: Path, no_guard: None) -> None:
    station = station_settings(tmp_path / "station", database.create_postgres_database())
    populate(station)
    dest = DirectoryDestination(tmp_path / "usb")
    result = run_backup(station, dest, PASSPHRASE, now=T0)
    assert result.manifest.database_kind == "postgresql"

    target = station_settings(tmp_path / "new" / "var", database.create_postgres_database())
    restore_backup(target, dest, PASSPHRASE)

    assert rows(target.database) == rows(station.database)
    assert files(target.clips_dir) == files(station.clips_dir)
    assert files(target.secrets_dir) == files(station.secrets_dir)


def test_a_database_that_is_not_empty_is_not_overwritten(tmp_path: Path) -> None:
    station = station_settings(tmp_path / "station", database.create_postgres_database())
    populate(station, users=1, commands_issued=1, clips=1)
    dest = DirectoryDestination(tmp_path / "usb")
    run_backup(station, dest, PASSPHRASE, now=T0)
    target = station_settings(tmp_path / "new" / "var", database.create_postgres_database())
    populate(station_settings(tmp_path / "scratch", target.database_url), users=1, commands_issued=0, clips=0)
    before_rows, before_tree = rows(target.database), tree(tmp_path / "new")

    with pytest.raises(BackupError, match="not empty"):
        restore_backup(target, dest, PASSPHRASE)

    assert rows(target.database) == before_rows and tree(tmp_path / "new") == before_tree


WRITER = """
import sys, time
from sqlalchemy import create_engine, text
engine = create_engine(sys.argv[1])
with engine.begin() as c:
    c.execute(text("CREATE TABLE IF NOT EXISTS pairs (id serial primary key, half int)"))
print("ready", flush=True)
while True:
    with engine.begin() as c:  # two rows per transaction: a consistent copy holds an even number
        c.execute(text("INSERT INTO pairs (half) VALUES (1), (2)"))
"""


@pytest.fixture
def writing_station(tmp_path: Path) -> Iterator[str]:
    url = database.create_postgres_database()
    populate(station_settings(tmp_path / "station", url), users=1, commands_issued=1, clips=1)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, url], stdout=subprocess.PIPE)
    assert writer.stdout is not None and writer.stdout.readline().strip() == b"ready"
    try:
        yield url
    finally:
        writer.kill()
        writer.wait()


def test_the_snapshot_is_consistent_while_a_writer_writes(
    writing_station: str, tmp_path: Path, no_guard: None
) -> None:
    station = station_settings(tmp_path / "station", writing_station)
    dest = DirectoryDestination(tmp_path / "usb")
    result = run_backup(station, dest, PASSPHRASE, now=T0)
    target = station_settings(tmp_path / "new" / "var", database.create_postgres_database())
    restore_backup(target, dest, PASSPHRASE)

    engine = create_engine(target.database, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            pairs = connection.execute(text("SELECT count(*), sum(half) FROM pairs")).one()
    finally:
        engine.dispose()
    assert pairs[0] > 0 and pairs[0] % 2 == 0 and pairs[1] == pairs[0] // 2 * 3
    assert result.manifest.counts["pairs"] == pairs[0]  # the counts were taken in the dump's own snapshot
    assert "pairs" in tables_in(target.database)


def test_a_restore_failing_after_the_load_leaves_the_database_empty_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    station = station_settings(tmp_path / "station", database.create_postgres_database())
    populate(station, users=1, commands_issued=1, clips=1)
    dest = DirectoryDestination(tmp_path / "usb")
    run_backup(station, dest, PASSPHRASE, now=T0)

    def fail(settings: object, manifest: object) -> list[str]:
        raise BackupError("the guard could not run")

    monkeypatch.setattr(seq_guard, "after_restore", fail)
    target = station_settings(tmp_path / "new" / "var", database.create_postgres_database())
    with pytest.raises(BackupError, match="guard"):
        restore_backup(target, dest, PASSPHRASE)
    assert tables_in(target.database) == [] and tree(tmp_path / "new") == {}
