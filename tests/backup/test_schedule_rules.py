"""When a scheduled backup is due: once a day after the set time, a failure retried an hour later."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from broadcast import domain
from broadcast.backup import followup, scheduled
from broadcast.backup.scheduled import RETRY_AFTER, due, last_occurrence
from broadcast.config import Settings
from broadcast.people import audit_text
from broadcast.storage.db import Database
from broadcast.storage.models import AuditEntry, ZoneProgramme

TZ = "Asia/Ho_Chi_Minh"  # UTC+7, no daylight saving
AT = "02:30"  # 19:30 UTC the day before


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(6, 19, 30), utc(6, 19, 30)),  # exactly at 02:30 on the 7th, Vietnam time
        (utc(6, 19, 29), utc(5, 19, 30)),  # a minute before: the day before's
        (utc(7, 3, 0), utc(6, 19, 30)),
    ],
)
def test_the_last_daily_time_is_in_the_station_time_zone(now: datetime, expected: datetime) -> None:
    assert last_occurrence(now, AT, TZ) == expected


@pytest.mark.parametrize(
    ("now", "success", "attempt", "expected"),
    [
        (utc(6, 20), None, None, True),  # never backed up
        (utc(6, 20), utc(6, 19, 31), utc(6, 19, 31), False),  # done after today's time
        (utc(6, 20), utc(5, 19, 31), utc(5, 19, 31), True),  # yesterday's only
        (utc(6, 19, 40), utc(5, 19, 31), utc(6, 19, 31), False),  # failed 9 minutes ago: wait
        (utc(6, 19, 31) + RETRY_AFTER, utc(5, 19, 31), utc(6, 19, 31), True),  # an hour later: again
        (utc(6, 19, 0), utc(5, 20), utc(5, 20), False),  # before today's time, yesterday's done
    ],
)
def test_due(now: datetime, success: datetime | None, attempt: datetime | None, expected: bool) -> None:
    assert due(now, AT, TZ, success, attempt) is expected


def test_the_passphrase_comes_from_the_admins_file_or_the_environment_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(scheduled.PASSPHRASE_ENV, raising=False)
    monkeypatch.setenv("BROADCAST_DATA_DIR", str(tmp_path))
    with pytest.raises(domain.DomainError, match="Chưa có mật khẩu sao lưu"):
        scheduled.passphrase(Settings())
    monkeypatch.setenv("BROADCAST_BACKUP_PASSPHRASE_FILE", str(tmp_path / "missing"))
    with pytest.raises(domain.DomainError, match="Không đọc được tệp mật khẩu"):
        scheduled.passphrase(Settings())
    (tmp_path / "pass").write_text("1234\n", encoding="utf-8")
    monkeypatch.setenv("BROADCAST_BACKUP_PASSPHRASE_FILE", str(tmp_path / "pass"))
    with pytest.raises(domain.DomainError, match="quá ngắn"):
        scheduled.passphrase(Settings())
    (tmp_path / "pass").write_text("ba con vịt bơi qua sông\n", encoding="utf-8")
    monkeypatch.setenv("BROADCAST_BACKUP_PASSPHRASE_FILE", str(tmp_path / "pass"))
    assert scheduled.passphrase(Settings()) == "ba con vịt bơi qua sông"


@pytest.fixture
def station_db(
    migrated_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Database]:
    """The database of a station whose data dir is tmp_path (where a restore leaves its marker)."""
    monkeypatch.setenv("BROADCAST_DATA_DIR", str(tmp_path))
    db = Database(migrated_database_url)
    try:
        yield db
    finally:
        db.dispose()


def test_the_first_start_after_a_restore_audits_it_once_and_republishes(
    station_db: Database, tmp_path: Path
) -> None:
    settings, db = Settings(), station_db
    assert followup.follow_up(settings, db) is None  # an ordinary start
    with db.session() as session:
        session.add(ZoneProgramme(zone="thon-1", version=3, digest="abc", published_at=utc(6, 1)))
    marker = {
        "backup_id": "20261206T020000Z", "station_id": "st-1", "created_at": "2026-12-06T02:00:00+00:00",
        "restored_at": "2026-12-06T03:00:00+00:00", "source": "/media/usb/loa", "extra": {"x": 1},
    }  # fmt: skip
    (tmp_path / "restored.json").write_text(json.dumps(marker), encoding="utf-8")
    restored = followup.follow_up(settings, db)
    assert restored is not None and restored.backup_id == "20261206T020000Z"
    assert followup.follow_up(settings, db) is None  # the marker is set aside: audited once
    assert not (tmp_path / "restored.json").exists()
    with db.session() as session:
        entry = session.scalars(select(AuditEntry)).one()
        zone = session.scalars(select(ZoneProgramme)).one()
        assert (zone.digest, zone.published_at) == ("", None)
        said = audit_text.sentences(session, [entry])[0]
    assert entry.action == "backup.restore" and "extra" not in entry.detail
    assert said == (
        "Trạm đã được khôi phục từ bản sao lưu 20261206T020000Z lập lúc 2026-12-06 02:00 (UTC), "
        "lấy từ /media/usb/loa"
    )


def test_a_damaged_marker_still_counts_as_a_restore_and_never_stops_the_start(
    station_db: Database, tmp_path: Path
) -> None:
    (tmp_path / "restored.json").write_bytes(b'{"backup_id": "2026')  # cut short
    restored = followup.follow_up(Settings(), station_db)
    assert restored is not None and restored.backup_id == ""
    assert not (tmp_path / "restored.json").exists()
    with station_db.session() as session:
        assert session.scalars(select(AuditEntry.action)).all() == ["backup.restore"]
        said = audit_text.sentences(session, list(session.scalars(select(AuditEntry))))[0]
    assert said.startswith("Trạm đã được khôi phục")
