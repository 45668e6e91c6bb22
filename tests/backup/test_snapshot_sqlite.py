"""The SQLite copy is the database at one instant, even while another process writes to it."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from broadcast.backup.database import dump
from tests.backup.station_data import populate, station_settings

WRITER = """
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
c.execute("PRAGMA journal_mode=WAL")
c.execute("CREATE TABLE IF NOT EXISTS pairs (id integer primary key, half int)")
print("ready", flush=True)
while True:  # two rows per transaction: a consistent copy holds an even number of rows
    c.execute("BEGIN IMMEDIATE")
    c.execute("INSERT INTO pairs (half) VALUES (1)")
    c.execute("INSERT INTO pairs (half) VALUES (2)")
    c.execute("COMMIT")
"""


@pytest.fixture
def writing(tmp_path: Path) -> Iterator[Path]:
    settings = station_settings(tmp_path / "station")
    populate(settings, users=1, commands_issued=1, clips=0)
    db = settings.data_dir / "broadcast.db"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db)], stdout=subprocess.PIPE)
    assert writer.stdout is not None and writer.stdout.readline().strip() == b"ready"
    try:
        yield db
    finally:
        writer.kill()
        writer.wait()


def test_every_copy_taken_during_writes_is_whole_and_consistent(writing: Path, tmp_path: Path) -> None:
    seen = set()
    for n in range(5):
        copy = tmp_path / f"copy-{n}.db"
        counts, revision = dump(f"sqlite:///{writing}", copy)
        with closing(sqlite3.connect(copy)) as check:
            total, halves = check.execute("SELECT count(*), coalesce(sum(half), 0) FROM pairs").fetchone()
            mode = check.execute("PRAGMA journal_mode").fetchone()[0]
        assert total % 2 == 0 and halves == total // 2 * 3
        assert counts["pairs"] == total and revision is not None
        assert mode == "delete" and not copy.with_name(copy.name + "-wal").exists()  # one self-contained file
        seen.add(total)
    assert len(seen) > 1  # the writer really wrote between the copies
