"""Heartbeats counted per device per hour on a real database, uptime from them, and the pages showing it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from broadcast import protocol, reports
from broadcast.fleet import devices, presence
from broadcast.protocol.health import Heartbeat
from broadcast.reports import queries as report_data
from broadcast.storage.db import Database, migrate
from broadcast.storage.models import Counter, Device, DevicePresence, Zone
from tests.api.conftest import Api
from tests.api.workflow_support import EDITOR, running_station, web_client

DEVICE = "loa-1"


def heartbeat(device_id: str = DEVICE, ts: float | None = None) -> Heartbeat:
    return Heartbeat(
        device_id=device_id,
        ts=time.time() if ts is None else ts,
        uptime_s=100.0,
        agent_uptime_s=50.0,
        cpu_temp_c=None,
        disk_free_bytes=1,
        cache_bytes=0,
        clock_offset_ms=None,
        clock_source="ntp",
        ntp_synced=True,
    )


def ingest(db: Database, message: protocol.AgentMessage) -> None:
    """Feed a message through the same path as one taken off MQTT (raw bytes, parsed, applied)."""
    reports.ingest(db, protocol.device_event_topic(message.device_id), protocol.encode_agent_message(message))


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    migrate(database_url)
    database = Database(database_url)
    with database.session() as session:
        session.add(Zone(id="thon-1", name="Thôn 1"))
        session.flush()
        session.add_all(
            Device(id=device_id, zone="thon-1", mqtt_password_hash="x") for device_id in (DEVICE, "loa-2")
        )
    yield database
    database.dispose()


def hours(db: Database) -> dict[tuple[str, datetime], int]:
    with db.session() as session:
        rows = session.execute(
            select(DevicePresence.device_id, DevicePresence.hour_start, DevicePresence.heartbeats)
        )
        return {(device_id, hour): count for device_id, hour, count in rows}


def test_every_accepted_heartbeat_is_counted_in_its_hour(db: Database) -> None:
    before = presence.hour_of(datetime.now(UTC))
    for ts in (200.0, 100.0, 300.0):  # the one arriving late is stale for the state, yet counted
        ingest(db, heartbeat(ts=ts))
    ingest(db, heartbeat("loa-2"))
    ingest(db, heartbeat("khong-co"))  # unknown: refused, not counted
    ingest(db, protocol.PlayReport(DEVICE, "c1", "a" * 64, 400.0, 3.0, "normal"))  # not a heartbeat
    after = presence.hour_of(datetime.now(UTC))
    counted = hours(db)
    assert {device_id for device_id, _ in counted} == {DEVICE, "loa-2"}
    assert all(hour in (before, after) and hour.tzinfo is not None for _, hour in counted)
    assert sum(n for (device_id, _), n in counted.items() if device_id == DEVICE) == 3
    with db.session() as session:
        device = session.get(Device, DEVICE)
        assert device is not None and device.report_ts == 400.0 and device.health["ts"] == 300.0


def test_hours_are_capped_when_read_and_pruned_after_a_year(db: Database) -> None:
    hour = presence.hour_of(datetime.now(UTC)) - timedelta(days=2)
    with db.session() as session:
        for _ in range(130):  # an hour with extra heartbeats (volume changes poke one out at once)
            presence.count_heartbeat(session, DEVICE, hour + timedelta(minutes=10))
        for _ in range(60):
            assert presence.count_heartbeat(session, DEVICE, hour + timedelta(hours=1, minutes=59)) >= 1
        presence.count_heartbeat(session, "loa-2", hour - presence.KEEP - timedelta(hours=2))
    assert hours(db)[(DEVICE, hour)] == 130
    with db.session() as session:
        seen = presence.heartbeats_seen(session, [DEVICE, "loa-2"], hour, hour + timedelta(days=1), 120)
        assert seen == {DEVICE: 120 + 60}
        assert presence.heartbeats_seen(
            session, [DEVICE], hour + timedelta(hours=1), hour + timedelta(days=1), 120
        ) == {DEVICE: 60}
    with db.session() as session:  # a device's first heartbeat of an hour drops its own old hours only
        presence.count_heartbeat(session, DEVICE, hour - presence.KEEP - timedelta(hours=5))  # very old
        presence.count_heartbeat(session, DEVICE, hour + timedelta(hours=3))  # a new hour: prunes
    assert set(hours(db)) == {
        (DEVICE, hour),
        (DEVICE, hour + timedelta(hours=1)),
        (DEVICE, hour + timedelta(hours=3)),
        ("loa-2", presence.hour_of(hour - presence.KEEP - timedelta(hours=2))),
    }
    with db.session() as session:
        assert presence.prune(session, hour) == 1  # the station-wide sweep takes the rest
    assert "loa-2" not in {device_id for device_id, _ in hours(db)}
    with db.session() as session:
        presence.count_heartbeat(session, "loa-2", datetime.now(UTC) - presence.KEEP - timedelta(hours=2))
    assert presence.sweep(db) == 1 and len(hours(db)) == 3


def test_counting_start_is_recorded_once(db: Database) -> None:
    first = datetime(2025, 5, 1, 8, tzinfo=UTC)
    with db.session() as session:
        assert presence.counting_since(session) is None
        presence.mark_counting_started(session, first)
    with db.session() as session:
        presence.mark_counting_started(session, first + timedelta(days=3))  # a later restart changes nothing
    with db.session() as session:
        assert presence.counting_since(session) == first


def test_uptime_of_devices_from_the_database(db: Database) -> None:
    now = datetime.now(UTC)
    with db.session() as session:
        session.execute(update(Device).values(created_at=now - timedelta(days=1)))
        for k in range(1, 19):  # 18 full hours of the last day heard, 6 silent
            for _ in range(120):
                presence.count_heartbeat(session, DEVICE, presence.hour_of(now) - timedelta(hours=k))
        presence.mark_counting_started(session, now - timedelta(days=30))
    with db.session() as session:
        shown = list(session.scalars(select(Device).order_by(Device.id)))
        got = report_data.heartbeat_uptime(session, shown, now - timedelta(days=7), now, now)
    assert (got[DEVICE].seen, round(got[DEVICE].expected)) == (2160, 2879)
    assert got[DEVICE].percent_text == "75%"
    assert (got["loa-2"].seen, got["loa-2"].percent_text) == (0, "0%")


def test_workers_counting_one_device_at_once_lose_nothing(db: Database, database_url: str) -> None:
    workers, each = 6, 40
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def worker() -> None:
        own = Database(database_url)  # its own engine and connections, like a worker process
        try:
            barrier.wait()
            for _ in range(each):
                ingest(own, heartbeat())
        except BaseException as exc:
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sum(hours(db).values()) == workers * each


# --- the pages ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with running_station(tmp_path_factory.mktemp("presence-station")) as running:
        yield running


def test_reports_and_device_pages_show_both_measures(api: Api, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    settings = api.station.settings
    with api.station.db.session() as session:
        devices.add_device(session, settings.broker, "loa-9", "thon-1", tmp_path, "file:x", "test")
        session.flush()
        session.execute(update(Device).where(Device.id == "loa-9").values(created_at=now - timedelta(days=1)))
        # The station began counting a month ago (it set this row when it started, i.e. now).
        session.execute(
            update(Counter)
            .where(Counter.name == presence.SINCE_COUNTER)
            .values(value=int((now - timedelta(days=30)).timestamp()))
        )
        for k in range(1, 19):
            for _ in range(120):
                presence.count_heartbeat(session, "loa-9", presence.hour_of(now) - timedelta(hours=k))
    client, _ = web_client(api, EDITOR)
    page = client.get("/reports").text
    row = page[page.index('<a href="/devices/loa-9">') :]
    row = row[: row.index("</tr>")]
    assert "<strong>75%</strong>" in row and "2160 / 2879" in row
    assert "Thời gian trực tuyến" in page and "Có mặt khi cần phát" in page
    assert "120 nhịp mỗi giờ" in page  # the definition says what is expected
    device_page = client.get("/devices/loa-9").text
    assert "Thời gian trực tuyến (7 ngày)" in device_page and "Có mặt khi cần phát (7 ngày)" in device_page
    assert "<strong>75%</strong> — trạm nhận 2160/2879 nhịp báo" in device_page
    with api.station.db.session() as session:
        session.execute(update(Device).where(Device.id == "loa-1").values(created_at=datetime.now(UTC)))
    fresh = client.get("/devices/loa-1").text  # enrolled just now: no figure yet
    assert "chưa đủ thời gian để tính" in fresh
