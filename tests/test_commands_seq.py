"""Command sequence numbers from the `counters` row: distinct and increasing across threads and processes."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from broadcast.protocol.control import VolumeCommand
from broadcast.signing import commands
from broadcast.signing.keys import StationKeys
from broadcast.storage.db import Database, migrate
from broadcast.storage.models import Command, Counter


def issue(db: Database, key: bytes) -> int:
    """Issue one signed command as the station does (number, sign, store, commit); return its number."""
    now = time.time()
    with db.session() as session:
        seq = commands.next_seq(session)
        body = VolumeCommand(str(uuid.uuid4()), seq, now, now + 60, ("thon-1",), 50).to_body()
        commands.store_signed(session, body, key, start_at=datetime.now(UTC))
    return seq


def issue_many(url: str, key: bytes, count: int) -> list[int]:
    """Run in a worker process: issue `count` commands on a fresh engine."""
    db = Database(url)
    try:
        return [issue(db, key) for _ in range(count)]
    finally:
        db.dispose()


@pytest.fixture
def migrated(database_url: str) -> str:
    migrate(database_url)
    return database_url


@pytest.fixture
def key(tmp_path: Path) -> bytes:
    return StationKeys(tmp_path / "secrets").signing_key_raw()


def _stored(url: str) -> list[int]:
    db = Database(url)
    try:
        with db.session() as session:
            return sorted(session.scalars(select(Command.seq)))
    finally:
        db.dispose()


def test_numbers_follow_the_counter_and_survive_a_missing_row(migrated: str, key: bytes) -> None:
    db = Database(migrated)
    try:
        assert [issue(db, key) for _ in range(3)] == [1, 2, 3]
        with db.session() as session:
            assert session.get(Counter, commands.SEQ_COUNTER).value == 3  # type: ignore[union-attr]
            session.execute(delete(Counter))  # a database whose counter row was lost
        assert issue(db, key) == 4  # continues from the highest number issued
    finally:
        db.dispose()


def test_a_rolled_back_command_leaves_a_gap_not_a_duplicate(migrated: str, key: bytes) -> None:
    db = Database(migrated)
    try:
        first = issue(db, key)

        def fail_after_numbering() -> None:
            with db.session() as session:
                commands.next_seq(session)
                raise RuntimeError("signing failed")

        with pytest.raises(RuntimeError):
            fail_after_numbering()
        assert issue(db, key) > first
    finally:
        db.dispose()


def test_concurrent_workers_get_distinct_increasing_numbers(migrated: str, key: bytes) -> None:
    threads, each = 8, 12
    start = threading.Barrier(threads)
    results: dict[int, list[int]] = {}
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        db = Database(migrated)  # one engine per thread, as separate worker processes would have
        try:
            start.wait()
            results[n] = [issue(db, key) for _ in range(each)]
        except BaseException as exc:  # an IntegrityError on commands.seq would land here
            errors.append(exc)
        finally:
            db.dispose()

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
    assert errors == []
    numbers = [seq for seqs in results.values() for seq in seqs]
    assert len(numbers) == len(set(numbers)) == threads * each
    for seqs in results.values():
        assert seqs == sorted(seqs)  # each issuer sees its numbers increase
    assert _stored(migrated) == sorted(numbers)


def test_worker_processes_get_distinct_numbers(migrated: str, key: bytes) -> None:
    processes, each = 3, 15
    with ProcessPoolExecutor(processes, mp_context=get_context("spawn")) as pool:
        runs = list(pool.map(issue_many, [migrated] * processes, [key] * processes, [each] * processes))
    numbers = [seq for run in runs for seq in run]
    assert len(set(numbers)) == processes * each
    assert all(run == sorted(run) for run in runs)
    db = Database(migrated)
    try:
        with db.session() as session:
            assert session.scalar(select(func.max(Command.seq))) == max(numbers)
    finally:
        db.dispose()
