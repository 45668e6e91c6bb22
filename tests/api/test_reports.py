"""Agent reports reach the database; silent devices are marked offline."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from broadcast import protocol, reports
from broadcast.storage.models import Device, Play
from tests.api.conftest import Api


def _device(api: Api) -> Device | None:
    with api.station.db.session() as session:
        return session.get(Device, "loa-1")


def test_status_play_and_duplicate_reports(api: Api) -> None:
    db = api.station.db
    status = protocol.DeviceStatus("loa-1", "online", "thon-1", "0.1.0", time.time())
    reports.ingest(db, protocol.device_status_topic("loa-1"), protocol.encode_agent_message(status))
    device = _device(api)
    assert device is not None
    assert device.online
    assert device.version == "0.1.0"
    play = protocol.PlayReport("loa-1", "cmd-1", "a" * 64, time.time(), 3.0, "normal")
    for _ in range(2):  # QoS1 may deliver twice
        reports.ingest(db, protocol.device_event_topic("loa-1"), protocol.encode_agent_message(play))
    with db.session() as session:
        assert session.query(Play).filter_by(device_id="loa-1", outcome="played").count() == 1


def test_bad_reports_are_dropped_without_crashing(api: Api) -> None:
    db = api.station.db
    for topic, payload in [
        (protocol.device_event_topic("loa-1"), b"\xff\xfe"),
        (protocol.device_event_topic("loa-1"), b"{}"),
        (
            protocol.device_event_topic("khong-co"),
            protocol.encode_agent_message(protocol.PlayReport("khong-co", "c", "a" * 64, 1.0, 1.0, "normal")),
        ),
        (
            protocol.device_event_topic("loa-1"),
            protocol.encode_agent_message(protocol.PlayReport("loa-2", "c", "a" * 64, 1.0, 1.0, "normal")),
        ),
        ("loa/v1/dev/loa-1", b"{}"),
    ]:
        reports.ingest(db, topic, payload)
    with db.session() as session:
        assert session.query(Play).count() == 0


def test_silent_devices_go_offline(api: Api) -> None:
    db = api.station.db
    status = protocol.DeviceStatus("loa-1", "online", "thon-1", "0.1.0", time.time())
    reports.ingest(db, protocol.device_status_topic("loa-1"), protocol.encode_agent_message(status))
    assert reports.mark_silent_devices_offline(db, 60) == []
    later = datetime.now(UTC) + timedelta(seconds=120)
    assert reports.mark_silent_devices_offline(db, 60, now=later) == ["loa-1"]
    device = _device(api)
    assert device is not None
    assert not device.online
