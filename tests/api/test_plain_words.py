"""Issue 17, plain words: devices with problems, play-log rows, audit sentences, names instead of ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from broadcast import domain, protocol, reports
from broadcast.fleet import devices, refusal_text, station_address
from broadcast.fleet.queries import DeviceProblem, device_problems
from broadcast.storage.models import Device, Play, Zone
from tests.api.conftest import Api

BAD_URL = "clip url 'http://127.0.0.1:8000/clips/x.mp3' is not under the station url"


def _reject(api: Api, device: str, command: str, reason: str) -> None:
    message = protocol.CommandRejected(device, command, reason)
    reports.ingest(
        api.station.db, protocol.device_event_topic(device), protocol.encode_agent_message(message)
    )


def test_device_problems_offline_clock_refusing(api: Api) -> None:
    settings = api.station.settings
    now = datetime.now(UTC)
    with api.station.db.session() as session:
        for device_id in ("loa-2", "loa-3", "loa-4"):
            devices.add_device(
                session, settings.broker, device_id, "thon-2", settings.data_dir, "file:x", "t"
            )
        session.get(Zone, "thon-2").name = "Thôn Hai"  # type: ignore[union-attr]
        for device_id in ("loa-1", "loa-2", "loa-3", "loa-4"):
            session.get(Device, device_id).online = True  # type: ignore[union-attr]
        loa2, loa3 = session.get(Device, "loa-2"), session.get(Device, "loa-3")
        assert loa2 is not None and loa3 is not None
        loa2.health = {"clock_offset_ms": 180.0, "clock_source": "ntp"}  # over the 50 ms default
        loa3.health = {"clock_offset_ms": 562.0, "clock_source": "http"}  # within a Date header's ±1 s
        loa3.settings = {"ntp_warn_ms": 10.0}
        session.get(Device, "loa-4").online = False  # type: ignore[union-attr]
    _reject(api, "loa-1", "c-old", "missed start by 3.2 s (output busy)")
    _reject(api, "loa-1", "c-new", BAD_URL)
    _reject(api, "loa-3", "c-cancel", "cancelled by x after 1 of 3 repeats")  # an officer's cancel
    with api.station.db.session() as session:  # a refusal two days ago is no longer a problem
        session.add(
            Play(
                device_id="loa-3",
                command_id="c-gone",
                outcome="rejected",
                reason=BAD_URL,
                reported_at=now - timedelta(days=2),
            )
        )

    with api.station.db.session() as session:
        found = device_problems(session, None, now + timedelta(seconds=1))
    assert [(p.device_id, p.kind) for p in found] == [
        ("loa-4", "offline"),
        ("loa-1", "refusing"),
        ("loa-2", "clock"),
    ]
    offline, refusing, clock = found
    assert offline.zone == "Thôn Hai" and offline.since is None and "chưa từng kết nối" in offline.detail
    assert refusing.zone == "thon-1"  # a zone without a name: its id
    assert refusing.detail.startswith("Từ chối 2 lệnh trong 24 giờ qua.")
    assert "địa chỉ trạm" in refusing.detail and "not under" not in refusing.detail
    assert refusing.since is not None and refusing.since <= now + timedelta(seconds=1)
    assert clock.detail == "Đồng hồ nhanh 180 ms so với chuẩn (ngưỡng cảnh báo 50 ms)."
    assert isinstance(clock, DeviceProblem)


def test_refusal_reasons_in_vietnamese() -> None:
    assert (
        refusal_text.describe("missed start by 3.2 s (output busy)") == "Lỡ giờ phát 3 giây vì loa đang bận."
    )
    assert refusal_text.describe("expired after 2 of 3 repeats") == "Hết hạn sau 2/3 lần phát."
    assert refusal_text.describe("something new") == "Cụm loa từ chối: something new"
    assert refusal_text.is_officer_action("cancelled before it arrived")


def test_station_address_recorded_or_refused(tmp_path: Path) -> None:
    with pytest.raises(domain.Invalid, match="BROADCAST_PUBLIC_URL"):
        station_address.agent_url(None, tmp_path)
    station_address.record(tmp_path, "http://10.0.0.5:9000/")
    assert station_address.agent_url(None, tmp_path) == "http://10.0.0.5:9000"
    assert station_address.agent_url("https://loa.example/", tmp_path) == "https://loa.example"
    assert station_address.is_loopback("http://127.0.0.1:8080") and not station_address.is_loopback(
        "http://10.0.0.5"
    )
