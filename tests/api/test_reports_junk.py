"""Report ingest with the station's ledger: junk and absurd numbers dropped unstored, the device flagged."""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from broadcast import protocol, reports
from broadcast.mqtt.report_guard import DropLedger
from broadcast.reports import floods as report_floods
from broadcast.signing import commands
from broadcast.storage.models import AuditEntry, Device, Play
from tests.api.conftest import Api
from tests.api.test_reports_page import login


def _issue(api: Api, zones: list[str], kind: str = "play") -> str:
    """Store a signed command for `zones`, as the station does when it sends one; return its id."""
    with api.station.db.session() as session:
        body: dict[str, object] = {"id": str(uuid.uuid4()), "seq": commands.next_seq(session), "zones": zones}
        key = api.station.keys.signing_key_raw()
        commands.store_signed(session, body, key, start_at=datetime.now(UTC), kind=kind)
    return str(body["id"])


def _ingest(api: Api, payload: bytes, ledger: DropLedger | None, device: str = "loa-1") -> None:
    reports.ingest(api.station.db, protocol.device_event_topic(device), payload, junk=ledger)


def _play(device: str, command_id: str) -> bytes:
    report = protocol.PlayReport(device, command_id, "a" * 64, time.time(), 3.0, "normal")
    return protocol.encode_agent_message(report)


def _plays(api: Api) -> list[tuple[str, str]]:
    with api.station.db.session() as session:
        return [(p.command_id, p.outcome) for p in session.scalars(select(Play).order_by(Play.id))]


def test_reports_of_commands_never_issued_are_counted_not_stored(api: Api) -> None:
    ledger = DropLedger()
    mine = _issue(api, ["thon-1"])
    elsewhere = _issue(api, ["thon-2"])
    before = _last_seen(api)
    for n in range(50):
        _ingest(api, _play("loa-1", f"junk-{n}"), ledger)
    _ingest(api, _play("loa-1", elsewhere), ledger)  # issued, but not to this device's zone
    received = protocol.CommandReceived("loa-1", f"junk-{uuid.uuid4()}", time.time())
    _ingest(api, protocol.encode_agent_message(received), ledger)
    assert _plays(api) == []
    assert _last_seen(api) == before  # junk writes nothing at all, not even last_seen
    assert ledger.counts()["unknown_command"] == 52
    _ingest(api, _play("loa-1", mine), ledger)
    _ingest(api, _play("loa-1", mine), ledger)  # QoS1 may deliver it twice: stored once
    assert _plays(api) == [(mine, "played")]
    _ingest(api, _play("loa-1", "made-up"), None)  # without a ledger (tools, older tests): stored
    assert (("made-up", "played")) in _plays(api)


def _last_seen(api: Api) -> datetime | None:
    with api.station.db.session() as session:
        return session.scalar(select(Device.last_seen).where(Device.id == "loa-1"))


HUGE = "9" * 5000  # past Python's 4,300-digit limit for int(str)


@pytest.mark.parametrize(
    "payload",
    [
        b'{"device_id":"loa-1","type":"received","command_id":"c","ts":' + HUGE.encode() + b"}",
        json.dumps(
            {
                "device_id": "loa-1",
                "type": "heartbeat",
                "ts": 1.0,
                "uptime_s": 1,
                "disk_free_bytes": 10**309,
                "cache_bytes": 0,
            }
        ).encode(),
        json.dumps({"device_id": "loa-1", "type": "status", "state": "online", "ts": 10**20}).encode(),
        json.dumps(
            {
                "device_id": "loa-1",
                "type": "play",
                "command_id": "c",
                "clip_sha256": "a" * 64,
                "started_at": 1.0,
                "duration_s": 1e300,
                "priority": "normal",
            }
        ).encode(),
    ],
    ids=["5000-digit ts", "disk 10**309", "status ts 10**20", "duration 1e300"],
)
def test_absurd_numbers_are_a_logged_rejection(
    api: Api, payload: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="broadcast.reports"):
        _ingest(api, payload, DropLedger())  # never raises
    assert "rejected agent message" in caplog.text
    assert "Traceback" not in caplog.text
    with api.station.db.session() as session:
        device = session.get(Device, "loa-1")
        assert device is not None and device.health == {} and device.report_ts is None


def test_a_stored_absurd_health_does_not_break_the_device_page(api: Api) -> None:
    with api.station.db.session() as session:
        device = session.get(Device, "loa-1")
        assert device is not None
        # Stored before numbers were bounded: what a device sent when nothing checked.
        device.health = {
            "disk_free_bytes": 10**309,
            "cache_bytes": 10**400,
            "uptime_s": 10**309,
            "clock_offset_ms": 1e308,
            "cpu_temp_c": 55.0,
        }
    login(api.client, "canbo", "mat-khau-bien-tap")
    page = api.client.get("/devices/loa-1")
    assert page.status_code == 200, page.text[:500]
    assert "55 °C" in page.text
    assert api.client.get("/api/devices", headers=api.editor).status_code == 200


def test_a_flooding_device_is_flagged_on_its_page_in_the_api_and_audited_once(api: Api) -> None:
    ledger = DropLedger()
    for _ in range(30):
        ledger.drop("loa-1", "rate")
    ledger.drop("loa-1", "unknown_command")
    assert report_floods.flag_floods(api.station.db, ledger) == 1
    for _ in range(10):
        ledger.drop("loa-1", "rate")
    assert report_floods.flag_floods(api.station.db, ledger) == 1  # the same streak goes on
    (listed,) = api.client.get("/api/devices", headers=api.editor).json()
    assert listed["report_flood"]["dropped"] == 41
    assert listed["report_flood"]["since"] <= listed["report_flood"]["last_at"]
    with api.station.db.session() as session:
        flood = AuditEntry.action == report_floods.AUDIT_ACTION
        entries = list(session.scalars(select(AuditEntry).where(AuditEntry.target == "device:loa-1", flood)))
        assert [(e.actor, e.action) for e in entries] == [("station", "device.report_flood")]
        assert entries[0].detail["dropped"] == 31
        assert session.scalar(select(func.count()).select_from(Play)) == 0
    login(api.client, "canbo", "mat-khau-bien-tap")
    page = api.client.get("/devices/loa-1").text
    assert "Thiết bị gửi báo cáo bất thường" in page
    assert "đã bỏ qua 41 báo cáo" in page
    metrics = api.client.get("/metrics").text
    assert 'loa_reports_dropped_total{reason="rate"}' in metrics
    assert 'loa_report_queue{lane="urgent"} 0' in metrics


def test_a_quiet_device_is_not_flagged(api: Api) -> None:
    ledger = DropLedger()
    ledger.drop("loa-1", "unknown_command")  # one forged command reported: not abnormal
    assert report_floods.flag_floods(api.station.db, ledger) == 0
    (listed,) = api.client.get("/api/devices", headers=api.editor).json()
    assert listed["report_flood"] is None


def test_refusals_of_commands_never_issued_are_kept_up_to_a_daily_bound(api: Api) -> None:
    """A forged command refused by a device is shown to the officer, but a flood of them is not stored."""
    ledger = DropLedger()
    for n in range(reports.KEPT_FOREIGN_REFUSALS_PER_DAY + 30):
        refusal = protocol.CommandRejected("loa-1", f"forged-{n}", "bad signature")
        _ingest(api, protocol.encode_agent_message(refusal), ledger)
    kept = _plays(api)
    assert len(kept) == reports.KEPT_FOREIGN_REFUSALS_PER_DAY
    assert {outcome for _, outcome in kept} == {"rejected"} and kept[0][0] == "forged-0"
    assert ledger.counts()["unknown_command"] == 30
