"""Occurrences the station does not send are recorded with their reason, once, on the backend under test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from broadcast import protocol
from broadcast.bulletins import review as bulletin_review
from broadcast.config import Settings
from broadcast.people import accounts
from broadcast.people.accounts import Principal
from broadcast.programme import last_call, publishing, skips
from broadcast.programme.leading import elected_scheduler
from broadcast.reports import queries as report_data
from broadcast.scheduler import jobs
from broadcast.scheduler.planner import QuietHours
from broadcast.signing import keys
from broadcast.storage.db import Database
from broadcast.storage.models import (
    Bulletin,
    Clip,
    Commune,
    Device,
    SkippedSlot,
    Slot,
    SlotItem,
    Zone,
    ZoneProgramme,
)
from tests.support.station import wait_until

TZ = "Asia/Ho_Chi_Minh"
VN = ZoneInfo(TZ)
REJECT = "Sai ngày họp, cần sửa lại"


@dataclass
class RecordingPublisher:
    sent: list[tuple[str, bytes]] = field(default_factory=list)

    def publish(
        self, topic: str, payload: bytes, *, expiry_s: float, retain: bool = False, wait: float = 5.0
    ) -> None:
        self.sent.append((topic, payload))


@pytest.fixture
def db(migrated_database_url: str) -> Iterator[Database]:
    database = Database(migrated_database_url)
    yield database
    database.dispose()


@pytest.fixture
def approver(db: Database) -> Principal:
    with db.session() as session:
        session.add_all([Zone(id="thon-1", name="Thôn 1"), Zone(id="thon-2", name="Thôn 2")])
        session.flush()
        session.add(Device(id="loa-1", zone="thon-1", mqtt_password_hash="-"))  # thon-2 has none
        user = accounts.add_user(session, "chutich", "approver", "mat-khau-duyet-tin")
        return Principal(user.id, user.name, user.role)


def _ctx(
    db: Database, tmp_path: Path, quiet: QuietHours | None = None
) -> tuple[publishing.PushContext, RecordingPublisher]:
    signing = keys.StationKeys(tmp_path / "secrets").signing_key_raw()
    publisher = RecordingPublisher()
    ctx = publishing.PushContext(db, publisher, signing, "http://127.0.0.1:1", 60.0, TZ, quiet=quiet)
    return ctx, publisher


def _entries(tmp_path: Path, publisher: RecordingPublisher, zone: str) -> tuple[str, ...]:
    """Return the entries of the newest programme published for the zone (signature checked)."""
    payload = [p for t, p in publisher.sent if t == protocol.zone_programme_topic(zone)][-1]
    public = keys.StationKeys(tmp_path / "secrets").public_key_b64()
    return protocol.parse_programme(
        protocol.verify_message(payload, public, protocol.MAX_PROGRAMME_BYTES)
    ).entries


def _slot(
    db: Database,
    user: Principal,
    *,
    start_at: datetime | None = None,
    daily_at: str | None = None,
    zones: tuple[str, ...] = ("thon-1",),
    commune: str = "default",
) -> tuple[int, int]:
    """Store an approved bulletin in a slot; return (slot id, bulletin id)."""
    with db.session() as session:
        sha = f"{session.scalar(select(func.count()).select_from(Clip)):064d}"
        session.add(Clip(sha256=sha, size=1000, duration_s=20.0, loudness_lufs=-16.0))
        session.flush()  # no ORM relationships: rows are flushed in the order the keys need
        bulletin = Bulletin(
            title="Họp dân", text="Họp dân lúc 8 giờ.", spoken_text="họp dân lúc tám giờ", priority="normal",
            zones=list(zones), status="ready", clip_sha256=sha, engine="espeak", voice="vi",
            created_by=user.user_id, commune_id=commune,
        )  # fmt: skip
        days = [str(d) for d in range(7)] if daily_at else []
        slot = Slot(
            zones=list(zones), start_at=start_at, daily_at=daily_at, days=days, title="Thông báo sáng",
            created_by=user.user_id, commune_id=commune,
        )  # fmt: skip
        session.add_all([bulletin, slot])
        session.flush()
        session.add(SlotItem(slot_id=slot.id, position=0, kind="bulletin", bulletin_id=bulletin.id))
        return slot.id, bulletin.id


def _skips(db: Database) -> list[tuple[int, datetime, str]]:
    with db.session() as session:
        rows = session.scalars(select(SkippedSlot).order_by(SkippedSlot.id))
        return [(r.slot_id, r.start_at, r.reason) for r in rows]


def test_a_withdrawn_bulletins_slot_is_recorded_once_with_the_reason(
    db: Database, approver: Principal, tmp_path: Path, migrated_database_url: str
) -> None:
    start = (datetime.now(UTC) + timedelta(seconds=3)).replace(microsecond=0)
    slot_id, bulletin_id = _slot(db, approver, start_at=start)
    with db.session() as session:  # approved, then withdrawn with a reason
        bulletin_review.reject_bulletin(session, approver, bulletin_id, REJECT, "127.0.0.1")
    ctx, publisher = _ctx(db, tmp_path)
    settings = Settings(
        data_dir=tmp_path / "var", database_url=migrated_database_url, push_lead_s=1.0, quiet_hours=""
    )

    def last_call_refresh(_slot: int, _start: datetime) -> None:  # what the station's handler does
        publishing.refresh(ctx)

    jobs.set_slot_handler(last_call_refresh)
    scheduler = elected_scheduler(settings.programme, db)  # restores the slot's job when it is elected
    scheduler.start()
    try:
        assert wait_until(lambda: bool(_skips(db)), timeout=8), "the last call recorded nothing"
    finally:
        scheduler.shutdown(wait=False)
        jobs.set_slot_handler(None)
    for _ in range(3):  # re-planning makes the same decision again: nothing new is recorded
        publishing.refresh(ctx, force=True)
        assert last_call.record(db, slot_id, start, None, TZ) == 0
    [(recorded_slot, at, reason)] = _skips(db)
    assert (recorded_slot, at) == (slot_id, start)
    assert f"Bản tin số {bulletin_id} «Họp dân» đã bị thu hồi" in reason
    assert REJECT in reason
    assert _entries(tmp_path, publisher, "thon-1") == ()  # and the programme agents hold has none of it


def test_insert_or_ignore_keeps_one_row_per_reason(db: Database, approver: Principal) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    slot_id, _ = _slot(db, approver, start_at=start)
    with db.session() as session:
        slot = session.get(Slot, slot_id)
        assert slot is not None
        assert skips.record(session, slot, start, "lý do một")
        assert not skips.record(session, slot, start, "lý do một")
        assert not skips.record(session, slot, start.astimezone(VN), "lý do một")  # same instant, other zone
        assert skips.record(session, slot, start, "lý do hai")
        assert skips.record(session, slot, start + timedelta(days=1), "lý do một")
    assert len(_skips(db)) == 3


def test_quiet_hours_set_after_scheduling_and_zones_without_loudspeakers(
    db: Database, approver: Principal, tmp_path: Path
) -> None:
    local = datetime.now(VN).replace(second=0, microsecond=0) + timedelta(hours=2)
    slot_id, _ = _slot(db, approver, daily_at=f"{local:%H:%M}", zones=("thon-1", "thon-2"))
    quiet = QuietHours((local - timedelta(minutes=30)).time(), (local + timedelta(minutes=30)).time())
    with db.session() as session:
        slot = session.get(Slot, slot_id)
        assert slot is not None
        reasons = last_call.reasons(session, slot, local, quiet, TZ)
    assert reasons == [skips.quiet_hours(local, quiet, TZ), skips.no_devices(["thon-2"])]
    assert "giờ yên tĩnh ban đêm" in reasons[0]
    ctx, publisher = _ctx(db, tmp_path, quiet)
    publishing.refresh(ctx, ["thon-1"], force=True)
    assert _entries(tmp_path, publisher, "thon-1") == ()
    with db.session() as session:
        plans = publishing.load_plans(session)
    start, end = local - timedelta(hours=1), local + timedelta(hours=1)
    assert publishing.planned(plans, start, end, TZ, None)  # without quiet hours it would air
    assert publishing.planned(plans, start, end, TZ, quiet) == []  # with them it is not sent
    assert last_call.record(db, slot_id, local, quiet, TZ) == 2
    assert last_call.record(db, slot_id, local, quiet, TZ) == 0


def test_occurrences_after_the_last_sent_window_are_recorded_as_unsent(
    db: Database, approver: Principal, tmp_path: Path
) -> None:
    now = datetime.now(VN).replace(second=0, microsecond=0)
    missed, _ = _slot(db, approver, daily_at=f"{now - timedelta(minutes=90):%H:%M}")
    sent, _ = _slot(db, approver, daily_at=f"{now - timedelta(hours=5):%H:%M}")
    with db.session() as session:  # the last programme (sent before the outage) ran out 3 hours ago
        ended = datetime.now(UTC) - timedelta(hours=3)
        session.add(ZoneProgramme(zone="thon-1", version=4, digest="x", window_end=ended, published_at=ended))
    ctx, _ = _ctx(db, tmp_path)
    publishing.refresh(ctx)
    publishing.refresh(ctx, force=True)
    with db.session() as session:  # even with the old window end back, the skip is not repeated
        state = session.get(ZoneProgramme, "thon-1")
        assert state is not None
        state.window_end = ended
    publishing.refresh(ctx)
    [(slot_id, at, reason)] = _skips(db)
    assert slot_id == missed != sent
    assert at == now - timedelta(minutes=90)
    assert reason == skips.STATION_DOWN


def test_reports_see_only_their_communes_skips(db: Database, approver: Principal) -> None:
    with db.session() as session:
        session.add(Commune(id="xa-b", name="Xã B"))
        session.flush()
        session.add(Zone(id="thon-b", name="Thôn B", commune_id="xa-b"))
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    ours, _ = _slot(db, approver, start_at=start)
    theirs, _ = _slot(db, approver, start_at=start, zones=("thon-b",), commune="xa-b")
    with db.session() as session:
        for slot_id in (ours, theirs):
            slot = session.get(Slot, slot_id)
            assert slot is not None
            skips.record(session, slot, start, skips.STATION_DOWN)
    window = (start - timedelta(hours=1), start + timedelta(hours=1))
    commune_a = Principal(approver.user_id, approver.name, approver.role, "default")
    with db.session() as session:
        assert [r.slot_id for r in report_data.skipped_slots(session, commune_a, "", *window)] == [ours]
        province = report_data.skipped_slots(session, approver, "", *window)
        assert sorted(r.slot_id for r in province) == sorted([ours, theirs])
        assert [r.slot_id for r in report_data.skipped_slots(session, approver, "thon-b", *window)] == [
            theirs
        ]
        later = (start + timedelta(hours=1), start + timedelta(hours=2))
        assert report_data.skipped_slots(session, approver, "", *later) == []


def test_quiet_band_and_unsent_reasons_are_stable_text() -> None:
    quiet = QuietHours(time(22), time(5))
    at = datetime(2026, 5, 4, 23, 15, tzinfo=VN)
    assert skips.quiet_hours(at, quiet, TZ) == skips.quiet_hours(at.astimezone(UTC), quiet, TZ)
    assert "23:15" in skips.quiet_hours(at, quiet, TZ)
    assert "22:00–05:00" in skips.quiet_hours(at, quiet, TZ)
    assert skips.no_devices(["thon-2", "thon-3"]).startswith("Vùng thon-2, thon-3 chưa có cụm loa")
