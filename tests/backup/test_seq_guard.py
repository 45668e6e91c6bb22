"""Numbers after a restore: above every number issued before the crash, even after the backup was taken."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from broadcast.backup import seq_guard
from broadcast.backup.seq_guard import SKIP, clock_floor, raise_key_serial, raise_numbers, raised
from broadcast.protocol.control import VolumeCommand
from broadcast.signing import commands, key_rotation
from broadcast.signing.keys import StationKeys
from broadcast.storage.db import Database
from broadcast.storage.models import Counter, ZoneProgramme
from edge_agent.sequence import WINDOW, SeqWindow

NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)


def test_the_clock_floor_counts_seconds_from_2024_and_never_goes_negative() -> None:
    assert clock_floor(datetime(2024, 1, 1, tzinfo=UTC)) == 0
    assert clock_floor(datetime(2024, 1, 2, tzinfo=UTC)) == 86_400
    assert clock_floor(datetime(2000, 1, 1, tzinfo=UTC)) == 0  # a dead CMOS battery


@pytest.mark.parametrize(
    ("value", "now", "backup", "expected"),
    [
        (5, NOW, None, clock_floor(NOW) + SKIP),  # the clock floor is above a small counter
        (10**9, NOW, None, 10**9 + SKIP),  # a counter above the floor (earlier restores) keeps growing
        (5, datetime(2000, 1, 1, tzinfo=UTC), NOW, clock_floor(NOW) + SKIP),  # a clock behind the backup
        (5, datetime(2000, 1, 1, tzinfo=UTC), None, 5 + SKIP),  # no clock at all: the skip still holds
    ],
)
def test_raised_is_above_the_counter_the_clock_and_the_backup(
    value: int, now: datetime, backup: datetime | None, expected: int
) -> None:
    assert raised(value, now, backup) == expected


def test_a_clock_decades_ahead_is_refused_rather_than_overflowing_the_column() -> None:
    with pytest.raises(ValueError, match="clock"):
        raised(5, datetime(2100, 1, 1, tzinfo=UTC))


def test_an_agent_accepts_the_first_number_after_a_restore_it_saw_everything_before() -> None:
    """The agent's own window (edge_agent/sequence.py): it accepted the old station's numbers to the end."""
    backed_up = 1_234
    window = SeqWindow()
    for seq in range(backed_up - 10, backed_up + 500):  # 500 commands after the backup, then the crash
        window = window.accept(seq)
    without_guard = backed_up + 1
    assert window.refuse(without_guard) is not None  # what a plain restore would send: refused
    assert window.refuse(raised(backed_up, NOW)) is None
    # ... and it stays accepted for a restore after another one (the counter grew by restore + commands)
    second = raised(raised(backed_up, NOW) + 300, NOW + timedelta(days=1))
    assert window.accept(raised(backed_up, NOW)).refuse(second) is None
    assert second > raised(backed_up, NOW) + WINDOW


def _issue(db: Database, key: bytes) -> int:
    now = time.time()
    with db.session() as session:
        seq = commands.next_seq(session)
        body = VolumeCommand(str(uuid.uuid4()), seq, now, now + 60, ("thon-1",), 50).to_body()
        commands.store_signed(session, body, key, start_at=datetime.now(UTC))
    return seq


def test_the_restored_database_continues_above_the_numbers_issued_after_its_backup(
    migrated_database_url: str, tmp_path: Path
) -> None:
    key = StationKeys(tmp_path / "secrets").signing_key_raw()
    db = Database(migrated_database_url)
    try:
        issued = [_issue(db, key) for _ in range(3)]  # the backup is taken here: counter 3
        with db.session() as session:
            session.add(ZoneProgramme(zone="thon-1", version=7, digest="abc", published_at=NOW))
        with db.session() as session:
            seq = raise_numbers(session, NOW, NOW - timedelta(hours=5), known=2)
        assert seq == clock_floor(NOW) + SKIP > max(issued)
        assert _issue(db, key) == seq + 1  # the next command, through the ordinary next_seq
        with db.session() as session:
            zone = session.scalars(select(ZoneProgramme)).one()
            assert (zone.version, zone.digest, zone.published_at) == (clock_floor(NOW) + SKIP, "", None)
            assert session.get(Counter, commands.SEQ_COUNTER).value == seq + 1  # type: ignore[union-attr]
    finally:
        db.dispose()


def test_the_keyring_serial_is_raised_and_its_signed_announcement_kept(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    assert raise_key_serial(secrets, NOW, None) is None  # no key yet: nothing to raise
    StationKeys(secrets).signing_key_raw()
    serial = raise_key_serial(secrets, NOW, None)  # never rotated: a keyring of the original key
    assert serial == clock_floor(NOW) + SKIP
    ring = key_rotation.load_keyring(secrets)
    assert ring is not None and ring.serial == serial and ring.announcement == ""
    assert StationKeys(secrets).signing_key_raw() == key_rotation.load_pem(secrets / ring.keys[0].file)
    key_rotation.rotate(secrets, now=NOW.timestamp())
    rotated = key_rotation.load_keyring(secrets)
    assert rotated is not None and rotated.serial == serial + 1  # above any serial agents were told
    announcement = rotated.announcement
    raise_key_serial(secrets, NOW + timedelta(days=1), None)
    data = json.loads((secrets / key_rotation.KEYRING_FILE).read_bytes())
    assert data["serial"] > serial + 1 and data["announcement"] == announcement


def test_backup_facts_and_after_restore_use_the_manifest_number(
    migrated_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from broadcast.backup.manifest import Manifest
    from broadcast.config import Settings

    monkeypatch.setenv("BROADCAST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BROADCAST_DATABASE_URL", migrated_database_url)
    settings = Settings()
    key = StationKeys(settings.secrets_dir).signing_key_raw()
    db = Database(migrated_database_url)
    try:
        _issue(db, key)
    finally:
        db.dispose()
    facts = seq_guard.backup_facts(settings, migrated_database_url)
    assert facts == {"command_seq": 1, "programme_version": 0, "key_serial": 0}
    manifest = Manifest(
        backup_id="20261206T000000Z", created_at=NOW.isoformat(), station_id="st-x", signing_public_keys=(),
        database_kind="sqlite", schema_revision=None, counts={}, members=(), clips=(), clips_kept_in=None,
        kdf={}, key_check="", app_version="", extra={"command_seq": {**facts, "command_seq": 10**9}},
    )  # fmt: skip
    messages = seq_guard.after_restore(settings, replace(manifest), now=NOW)
    assert str(10**9 + SKIP) in messages[0]
