"""The scheduler's tick runs a real backup when due (the leader only), keeps the newest N, counts failures."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import select

from broadcast import metrics
from broadcast.backup import list_backups, open_destination, scheduled
from broadcast.jobs import JobRunner, JobStatus
from broadcast.storage.db import Database
from broadcast.storage.models import Job
from tests.backup.station_data import PASSPHRASE, populate, station_settings


def _finished(db: Database, count: int, timeout_s: float = 20.0) -> list[Job]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with db.session() as session:
            jobs = list(session.scalars(select(Job).where(Job.kind == scheduled.JOB_KIND)))
        if len(jobs) >= count and all(j.status != JobStatus.RUNNING for j in jobs):
            return jobs
        time.sleep(0.1)
    raise AssertionError("the scheduled backups did not finish")


def test_the_leader_backs_up_when_due_keeps_the_newest_and_counts_failures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(scheduled.PASSPHRASE_ENV, raising=False)
    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE, encoding="utf-8")
    usb = tmp_path / "usb"
    settings = station_settings(
        tmp_path / "station", backup_to=str(usb), backup_passphrase_file=secret, backup_keep=1
    )
    populate(settings, users=1, commands_issued=2, clips=2)
    db, runner = Database(settings.database), JobRunner()
    try:
        assert scheduled.tick(settings, db, runner, lambda: False) is None  # a follower never starts one
        assert scheduled.tick(settings, db, runner, lambda: True) is not None  # never backed up: due now
        [first] = _finished(db, 1)
        assert first.status == JobStatus.DONE and first.created_by == "station", first.message
        assert first.result["destination"] and first.result["size_bytes"] > 0
        assert scheduled.tick(settings, db, runner, lambda: True) is None  # done since today's time
        assert metrics.BACKUP_LAST_SIZE._value.get() == first.result["size_bytes"]

        time.sleep(1.1)  # backup ids are whole seconds
        scheduled.start(settings, db, runner, "quantri")  # by hand: a second backup; keep=1 prunes the first
        _finished(db, 2)
        backups = list_backups(open_destination(str(usb), settings))
        assert [b.backup_id for b in backups if b.complete] != [first.result["backup_id"]]
        assert len([b for b in backups if b.complete]) == 1

        failures = metrics.BACKUP_FAILURES._value.get()
        secret.write_text("", encoding="utf-8")  # the admin emptied the file: no passphrase
        scheduled.start(settings, db, runner, "quantri")
        jobs = _finished(db, 3)
        failed = [j for j in jobs if j.status == JobStatus.FAILED]
        assert len(failed) == 1 and "Chưa có mật khẩu sao lưu" in failed[0].message
        with db.session() as session:
            assert scheduled.runs(session)[0].status == JobStatus.FAILED
        assert metrics.BACKUP_FAILURES._value.get() == failures + 1
    finally:
        runner.shutdown()
        db.dispose()
