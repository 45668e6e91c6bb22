"""Agent settings from the station: API and device page (admins, audited, per commune), the signed config
command on the device's own topic, re-sending when a heartbeat disagrees, and what the interval changes."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from broadcast import protocol, reports
from broadcast.app import create_app
from broadcast.config import Settings
from broadcast.fleet import device_settings, devices, presence
from broadcast.people import accounts, tenancy
from broadcast.reports import queries as report_data
from broadcast.station import Station
from broadcast.storage.models import AuditEntry, Command, Counter, Device
from edge_agent.config import AgentConfig, load_config
from edge_agent.transport import tls_context
from tests.security.broker_support import Probe
from tests.support import database
from tests.support.free_port import free_port
from tests.support.rate_limits import RAISED_RATE_LIMITS

PASSWORD = "nuoc-chay-da-mon"
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


@dataclass
class World:
    client: TestClient
    station: Station
    agent: AgentConfig  # loa-1's agent.toml, to listen on its topic with its own credentials
    headers: dict[str, dict[str, str]]

    def put(self, who: str, device_id: str, body: Any) -> Any:
        return self.client.put(f"/api/devices/{device_id}/settings", json=body, headers=self.headers[who])

    def count(self, model: type[AuditEntry] | type[Command]) -> int:
        with self.station.db.session() as session:
            return session.scalar(select(func.count()).select_from(model)) or 0

    def settings_of(self, device_id: str) -> dict[str, Any]:
        with self.station.db.session() as session:
            device = session.get(Device, device_id)
            assert device is not None
            return dict(device.settings)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("device-settings")
    settings = Settings(
        data_dir=tmp / "var",
        database_url=database.fresh_database_url(tmp / "db"),
        mqtt_port=free_port(),
        mqtt_tls_port=free_port(),
        public_url="http://127.0.0.1:1",
        **RAISED_RATE_LIMITS,
    )
    with TestClient(create_app(settings)) as client:
        station: Station = client.app.state.station  # type: ignore[attr-defined]
        headers = {}
        with station.db.session() as session:
            tenancy.add_commune(session, "xa-b", "Xã Bình", "test")
            enrolment = devices.add_device(
                session, settings.broker, "loa-1", "thon-1", tmp / "s1", "file:p", "t"
            )
            devices.add_device(session, settings.broker, "loa-2", "thon-1", tmp / "s2", "file:p", "t")
            devices.add_device(
                session, settings.broker, "loa-b1", "thon-b", tmp / "sb", "file:p", "t", "xa-b"
            )
            for name, role, commune in (
                ("quantri", "admin", "default"),
                ("chutich", "approver", "default"),
                ("b-quantri", "admin", "xa-b"),
            ):
                accounts.add_user(session, name, role, PASSWORD, commune)
                headers[name] = {"Authorization": f"Bearer {accounts.issue_token(session, name)}"}
        (tmp / "agent.toml").write_text(enrolment.agent_toml)
        yield World(client, station, load_config(tmp / "agent.toml"), headers)


def test_an_admin_sets_settings_stored_audited_and_sent_signed_to_the_device_alone(world: World) -> None:
    device = Probe("loa-1", world.agent.mqtt_username, world.agent.mqtt_password)
    assert device.connect(world.agent.mqtt_host, world.agent.mqtt_port, tls_context(world.agent)) is None
    try:
        device.subscribe(protocol.device_command_topic("loa-1"))
        body = {"heartbeat_interval_s": 60, "relay_hold_s": 12.5, "default_volume": 70, "log_level": "DEBUG"}
        answer = world.put("quantri", "loa-1", body)
        assert answer.status_code == 200, answer.text
        [(topic, payload)] = device.received()
    finally:
        device.close()
    sent = answer.json()
    desired = {"heartbeat_interval_s": 60.0, "relay_hold_s": 12.5, "default_volume": 70, "log_level": "DEBUG"}
    assert sent["settings"] == desired and sent["sent"] is True and sent["device_id"] == "loa-1"
    assert world.settings_of("loa-1") == desired
    assert topic == protocol.device_command_topic("loa-1")  # its own topic, not its zone's
    public = world.station.keys.public_key_b64()
    command = protocol.parse_command(protocol.verify_message(payload, public))
    assert isinstance(command, protocol.ConfigCommand)
    assert (command.id, command.zones, command.settings) == (sent["command_id"], ("thon-1",), desired)
    assert command.expires_at - command.issued_at == device_settings.CONFIG_TTL_S
    with world.station.db.session() as session:
        stored = session.get(Command, command.id)
        assert stored is not None and stored.kind == "config" and stored.seq == command.seq
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "device.settings")).all()[-1]
        assert (entry.actor, entry.target, entry.address) == ("quantri", "device:loa-1", "testclient")
        assert entry.detail == desired


@pytest.mark.parametrize(
    ("who", "device_id", "body", "status", "detail"),
    [
        ("chutich", "loa-2", {"heartbeat_interval_s": 60}, 403, "quản trị"),
        ("b-quantri", "loa-2", {"heartbeat_interval_s": 60}, 404, "Không có thiết bị"),
        ("quantri", "khong-co", {"heartbeat_interval_s": 60}, 404, "Không có thiết bị"),
        ("quantri", "loa-2", {"heartbeat_interval_s": 5}, 422, "heartbeat_interval_s"),
        ("quantri", "loa-2", {"heartbeat_interval_s": 301}, 422, "heartbeat_interval_s"),
        ("quantri", "loa-2", {"default_volume": 50.5}, 422, "default_volume"),
        ("quantri", "loa-2", {"log_level": "TRACE"}, 422, "log_level"),
        ("quantri", "loa-2", {"station_url": "http://evil"}, 422, "station_url"),  # never remotely
        ("quantri", "loa-2", {"station_public_key": "AAAA"}, 422, "station_public_key"),
        ("quantri", "loa-2", {"relay_pre_roll_s": 31}, 422, "relay_pre_roll_s"),
        ("quantri", "loa-2", [60], 422, "hợp lệ"),
    ],
)
def test_refused_settings_change_nothing(
    world: World, who: str, device_id: str, body: Any, status: int, detail: str
) -> None:
    before = (world.settings_of("loa-2"), world.count(AuditEntry), world.count(Command))
    answer = world.put(who, device_id, body)
    assert answer.status_code == status, answer.text
    assert detail in answer.json()["detail"]
    assert (world.settings_of("loa-2"), world.count(AuditEntry), world.count(Command)) == before


def test_an_empty_set_reverts_the_device_to_its_agent_toml(world: World) -> None:
    assert world.put("quantri", "loa-2", {"relay_pre_roll_s": 3}).status_code == 200
    answer = world.put("quantri", "loa-2", {"relay_pre_roll_s": None})
    assert answer.status_code == 200 and answer.json()["settings"] == {}
    assert world.settings_of("loa-2") == {}
    with world.station.db.session() as session:
        payload = session.get(Command, answer.json()["command_id"]).payload  # type: ignore[union-attr]
    assert json.loads(payload)["settings"] == {}  # the whole set, so the agent drops its overlay


def test_the_device_page_shows_and_saves_the_settings_for_admins_only(world: World) -> None:
    client = world.client
    assert client.post("/login", data={"name": "quantri", "password": PASSWORD}).status_code == 200
    try:
        page = client.get("/devices/loa-2")
        assert "Cài đặt phần mềm cụm loa" in page.text
        token = CSRF.search(page.text)
        assert token is not None
        form = {"csrf_token": token.group(1), "heartbeat_interval_s": "45", "relay_pre_roll_s": "2,5"}
        saved = client.post("/devices/loa-2/settings", data=form)
        assert saved.status_code == 200 and "Đã lưu cài đặt" in saved.text
        assert world.settings_of("loa-2") == {"heartbeat_interval_s": 45.0, "relay_pre_roll_s": 2.5}
        assert 'value="45"' in saved.text and "mỗi 45 giây" in saved.text  # uptime's interval follows

        bad = client.post("/devices/loa-2/settings", data={**form, "default_volume": "to lắm"})
        assert bad.status_code == 422 and "Âm lượng mặc định phải từ 0 đến 100 %" in bad.text
        assert 'value="to lắm"' in bad.text  # what the officer typed stays in the box
        assert world.settings_of("loa-2") == {"heartbeat_interval_s": 45.0, "relay_pre_roll_s": 2.5}
    finally:
        client.cookies.clear()
    assert client.post("/login", data={"name": "chutich", "password": PASSWORD}).status_code == 200
    try:
        assert "Cài đặt phần mềm cụm loa" not in client.get("/devices/loa-2").text
    finally:
        client.cookies.clear()


def _heartbeat(device_id: str, settings: dict[str, Any] | None) -> bytes:
    beat = protocol.Heartbeat(
        device_id=device_id, ts=time.time(), uptime_s=1.0, agent_uptime_s=1.0, cpu_temp_c=None,
        disk_free_bytes=1, cache_bytes=0, clock_offset_ms=None, clock_source="", ntp_synced=None,
        settings=settings,
    )  # fmt: skip
    return protocol.encode_agent_message(beat)


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def _configs(world: World) -> int:
    with world.station.db.session() as session:
        return session.scalar(select(func.count()).where(Command.kind == "config")) or 0


def test_a_disagreeing_heartbeat_gets_the_settings_again_with_a_growing_pause(world: World) -> None:
    assert world.put("quantri", "loa-2", {"heartbeat_interval_s": 120}).status_code == 200
    clock = Clock()
    resender = device_settings.Resender(world.station.push_context, clock)
    topic = protocol.device_event_topic("loa-2")

    def beat(settings: dict[str, Any] | None) -> int:
        before = _configs(world)
        reports.ingest(world.station.db, topic, _heartbeat("loa-2", settings), on_settings=resender)
        return _configs(world) - before

    assert beat({"heartbeat_interval_s": 120.0}) == 0  # it applies what the station wants
    assert beat({}) == 1  # back online with agent.toml's values: sent again at once
    assert beat({}) == 0  # not on every heartbeat
    clock.now += device_settings.RESEND_FIRST_S
    assert beat({}) == 1
    clock.now += device_settings.RESEND_FIRST_S * 1.5
    assert beat({}) == 0  # the pause doubled
    clock.now += device_settings.RESEND_FIRST_S * 0.5
    assert beat(None) == 1  # an agent older than config commands is tried too (it will refuse, paced)
    assert beat({"heartbeat_interval_s": 120.0}) == 0  # converged: the pause is forgotten
    assert beat({"log_level": "DEBUG"}) == 1
    resender.sent("loa-2")  # an admin just saved: a heartbeat already on its way shows the old set
    assert beat({}) == 0


def test_a_longer_heartbeat_interval_is_not_taken_for_a_dead_device(world: World) -> None:
    assert world.put("quantri", "loa-2", {"heartbeat_interval_s": 300}).status_code == 200
    for device_id in ("loa-1", "loa-2"):  # loa-1 keeps its 60 s; loa-2 reports every 5 minutes
        reports.ingest(world.station.db, protocol.device_event_topic(device_id), _heartbeat(device_id, {}))
    later = datetime.now(UTC) + timedelta(seconds=200)
    assert reports.mark_silent_devices_offline(world.station.db, 95.0, later) == ["loa-1"]
    much_later = datetime.now(UTC) + timedelta(seconds=3 * 300 + 10)
    assert reports.mark_silent_devices_offline(world.station.db, 95.0, much_later) == ["loa-2"]
    assert reports.silence_allowed(95.0, {}) == 95.0 and reports.silence_allowed(95.0, None) == 95.0
    assert reports.silence_allowed(95.0, {"heartbeat_interval_s": 10.0}) == 95.0


def test_uptime_expects_heartbeats_at_the_interval_the_station_set(world: World) -> None:
    hour = presence.hour_of(datetime.now(UTC)) - timedelta(hours=2)
    with world.station.db.session() as session:
        assert world.put("quantri", "loa-2", {"heartbeat_interval_s": 300}).status_code == 200
        for _ in range(12):  # a whole hour at one heartbeat every 5 minutes
            presence.count_heartbeat(session, "loa-2", hour + timedelta(minutes=1))
            presence.count_heartbeat(session, "loa-b1", hour + timedelta(minutes=1))
        shown = list(session.scalars(select(Device).where(Device.id.in_(["loa-2", "loa-b1"]))))
        for d in shown:  # enrolled, and counted, long before: the whole hour counts
            d.created_at = hour - timedelta(days=1)
        since = int((hour - timedelta(days=1)).timestamp())
        session.execute(update(Counter).where(Counter.name == presence.SINCE_COUNTER).values(value=since))
        got = report_data.heartbeat_uptime(session, shown, hour, hour + timedelta(hours=1), datetime.now(UTC))
        session.rollback()
    assert got["loa-2"].ratio == 1.0  # 12 of the 12 due at 300 s
    assert got["loa-b1"].ratio == pytest.approx(0.1)  # 12 of the 120 due at the default 30 s
