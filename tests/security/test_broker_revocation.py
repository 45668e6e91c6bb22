"""Revoking a device locks it out of the real broker: a connected one is kicked, it cannot come back,
its commands and reports stop, and only `device add --replace` (a new password) brings it back."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from broadcast import domain, protocol, reports
from broadcast.app import create_app
from broadcast.config import Settings
from broadcast.fleet import devices
from broadcast.people import accounts
from broadcast.station import Station
from broadcast.storage.models import AuditEntry, Device, Play
from edge_agent.config import load_config
from edge_agent.transport import tls_context
from tests.security.broker_support import BrokerStation, Probe, start_broker_station
from tests.support.free_port import free_port
from tests.support.station import wait_until

pytestmark = pytest.mark.integration

KICK_WITHIN_S = 3.0


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerStation]:
    station = start_broker_station(tmp_path_factory.mktemp("revocation"))
    for device_id in ("loa-keep", "loa-r1", "loa-r2", "loa-r3", "loa-r4", "loa-r5", "loa-agent"):
        station.enrol(device_id, "thon-1")
    yield station
    station.stop()


def _revoke(station: BrokerStation, device_id: str) -> devices.Revocation:
    with station.db.session() as session:
        return devices.revoke_device(session, station.settings.broker, device_id, "test-admin", "10.0.0.9")


def _reconnect(station: BrokerStation, device_id: str) -> str | None:
    config = station.agents[device_id]
    probe = Probe(device_id, config.mqtt_username, config.mqtt_password)
    refusal = probe.connect(config.mqtt_host, config.mqtt_port, tls_context(config))
    probe.close()
    return refusal


def test_a_connected_device_is_kicked_at_once_and_cannot_reconnect(station: BrokerStation) -> None:
    zone_topic = protocol.zone_command_topic("thon-1")
    keep = station.device("loa-keep")
    revoked = station.device("loa-r1", persistent=True)
    try:
        keep.subscribe(zone_topic)
        revoked.subscribe(zone_topic)
        started = time.monotonic()
        revocation = _revoke(station, "loa-r1")
        assert revoked.disconnected.wait(KICK_WITHIN_S), "revoked device still connected"
        kicked_after = time.monotonic() - started
        assert revocation.disconnected
        assert _reconnect(station, "loa-r1") == "Not authorized"
        # Its zone's commands reach the others, not it; nobody else was disturbed.
        sender = station.station()
        try:
            assert not sender.publish(zone_topic, b"after revocation").is_failure
        finally:
            sender.close()
        assert keep.received() == [(zone_topic, b"after revocation")]
        assert revoked.received(0.1) == []
        assert not keep.disconnected.is_set()
    finally:
        keep.close()
        revoked.close()
    print(f"kicked {kicked_after * 1000:.0f} ms after the revocation started")
    with station.db.session() as session:
        device = session.get(Device, "loa-r1")
        assert device is not None and device.revoked and device.revoked_at is not None
        entry = session.scalars(select(AuditEntry).where(AuditEntry.target == "device:loa-r1")).all()[-1]
        assert (entry.action, entry.actor, entry.address) == ("device.revoke", "test-admin", "10.0.0.9")
    config = station.broker.config
    for path in (config.passwd_path, config.local_passwd_path, config.acl_path):
        assert "loa-r1" not in path.read_text()


def test_reports_of_a_revoked_device_are_ignored(station: BrokerStation) -> None:
    _revoke(station, "loa-r2")
    report = protocol.PlayReport(
        device_id="loa-r2",
        command_id="cmd-1",
        clip_sha256="0" * 64,
        started_at=time.time(),
        duration_s=3.0,
        priority="normal",
    )
    status = protocol.DeviceStatus(device_id="loa-r2", state="online", version="9.9", ts=time.time())
    topic = protocol.device_event_topic("loa-r2")
    for message in (report, status):
        reports.ingest(station.db, topic, protocol.encode_agent_message(message))
    with station.db.session() as session:
        assert session.scalars(select(Play).where(Play.device_id == "loa-r2")).all() == []
        device = session.get(Device, "loa-r2")
        assert device is not None and not device.online and device.version != "9.9"


def test_revoking_twice_or_an_unknown_device_is_refused(station: BrokerStation) -> None:
    with pytest.raises(domain.NotFound):
        _revoke(station, "khong-co")
    _revoke(station, "loa-r3")
    with pytest.raises(domain.Conflict, match="thu hồi"):
        _revoke(station, "loa-r3")


def test_re_enrolment_needs_replace_and_a_new_password_and_drops_the_old_zone(
    station: BrokerStation,
) -> None:
    old = station.agents["loa-r4"]
    before = station.device("loa-r4", persistent=True)  # a stored session subscribed to thon-1 stays
    before.subscribe(protocol.zone_command_topic("thon-1"))
    before.close()
    _revoke(station, "loa-r4")
    with pytest.raises(domain.Conflict, match="--replace"):
        station.enrol("loa-r4", "thon-1")
    new = station.enrol("loa-r4", "thon-2", replace=True)
    assert new.mqtt_password != old.mqtt_password
    assert new.zones == ("thon-2",)
    stale = Probe("loa-r4", old.mqtt_username, old.mqtt_password)
    assert stale.connect(old.mqtt_host, old.mqtt_port, tls_context(old)) == "Not authorized"
    back = station.device("loa-r4", persistent=True)
    try:
        assert back.session_present  # the broker kept it; its thon-1 subscription is now inert
        back.subscribe(protocol.zone_command_topic("thon-2"))
        sender = station.station()
        try:
            sender.publish(protocol.zone_command_topic("thon-1"), b"old zone")
            sender.publish(protocol.zone_command_topic("thon-2"), b"welcome back")
        finally:
            sender.close()
        assert back.received() == [(protocol.zone_command_topic("thon-2"), b"welcome back")]
    finally:
        back.close()
    with station.db.session() as session:
        device = session.get(Device, "loa-r4")
        assert device is not None and not device.revoked and device.revoked_at is None


def test_replacing_an_active_device_cuts_off_the_old_password(station: BrokerStation) -> None:
    old = station.agents["loa-r5"]
    holder = station.device("loa-r5")
    try:
        station.enrol("loa-r5", "thon-1", replace=True)
        assert holder.disconnected.wait(KICK_WITHIN_S), "the old credentials' connection survived"
    finally:
        holder.close()
    stale = Probe("loa-r5", old.mqtt_username, old.mqtt_password)
    assert stale.connect(old.mqtt_host, old.mqtt_port, tls_context(old)) == "Not authorized"
    station.device("loa-r5").close()


def test_cli_revoke_kicks_a_running_agent(station: BrokerStation, tmp_path: Path) -> None:
    observer = station.station()
    observer.subscribe(protocol.device_status_topic("loa-agent"))
    log_path = tmp_path / "agent.log"
    with log_path.open("ab") as log:
        agent = subprocess.Popen(
            [sys.executable, "-m", "edge_agent.cli", "--config", str(station.root / "loa-agent.toml")],
            stdout=log,
            stderr=log,
        )
    try:
        assert wait_until(lambda: b'"online"' in b"".join(p for _, p in observer.received(0.1)), 20)
        env = {k: v for k, v in os.environ.items() if not k.startswith("BROADCAST_")}
        env.update(
            BROADCAST_DATA_DIR=str(station.settings.data_dir),
            BROADCAST_MQTT_PORT=str(station.settings.mqtt_port),
            BROADCAST_MQTT_TLS_PORT=str(station.settings.mqtt_tls_port),
        )
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "broadcast.cli", "device", "revoke", "loa-agent"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert "Đã thu hồi thiết bị loa-agent" in result.stdout
        assert "ngắt kết nối đang mở" in result.stdout

        def log_text() -> str:
            return log_path.read_text(errors="replace")

        assert wait_until(lambda: "disconnected from broker" in log_text(), KICK_WITHIN_S), log_text()
        print(f"agent kicked {time.monotonic() - started:.2f} s after `broadcast device revoke` started")
        assert wait_until(lambda: "Not authorized" in log_text(), 10), log_text()
        assert agent.poll() is None  # it keeps trying (and keeps its local programme), in vain
    finally:
        agent.terminate()
        agent.wait(timeout=10)
        observer.close()


def test_api_revocation_is_admin_only_audited_and_stops_commands(tmp_path: Path) -> None:
    settings = Settings(  # type: ignore[call-arg,unused-ignore]
        data_dir=tmp_path / "var",
        mqtt_port=free_port(),
        mqtt_tls_port=free_port(),
        public_url="http://127.0.0.1:1",
    )
    with TestClient(create_app(settings)) as client:
        station: Station = client.app.state.station  # type: ignore[attr-defined]
        with station.db.session() as session:
            accounts.add_user(session, "quantri", "admin", "khoa-cua-nguoi-giu")
            accounts.add_user(session, "chutich", "approver", "mat-khau-duyet-tin")
            enrolment = devices.add_device(
                session, settings.broker, "loa-api", "thon-1", Path("s"), "file:p", "t"
            )
            admin = {"Authorization": f"Bearer {accounts.issue_token(session, 'quantri')}"}
            approver = {"Authorization": f"Bearer {accounts.issue_token(session, 'chutich')}"}
        (tmp_path / "agent.toml").write_text(enrolment.agent_toml)
        config = load_config(tmp_path / "agent.toml")
        device = Probe("loa-api", config.mqtt_username, config.mqtt_password)
        assert device.connect(config.mqtt_host, config.mqtt_port, tls_context(config)) is None
        try:
            refused = client.post("/api/devices/loa-api/revoke", headers=approver)
            assert refused.status_code == 403 and "quản trị" in refused.json()["detail"]
            assert not device.disconnected.wait(0.3)
            assert client.post("/api/devices/khong-co/revoke", headers=admin).status_code == 404

            done = client.post("/api/devices/loa-api/revoke", headers=admin)
            assert done.status_code == 200, done.text
            assert done.json()["disconnected"] is True
            assert device.disconnected.wait(KICK_WITHIN_S)
            assert client.post("/api/devices/loa-api/revoke", headers=admin).status_code == 409
            listed = {d["id"]: d for d in client.get("/api/devices", headers=admin).json()}
            assert listed["loa-api"]["revoked"] is True
            # No command is signed for it any more.
            volume = client.post("/api/devices/loa-api/volume", json={"level": 50}, headers=admin)
            assert volume.status_code == 404
        finally:
            device.close()
        with station.db.session() as session:
            entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "device.revoke")).one()
            assert (entry.actor, entry.target, entry.address) == ("quantri", "device:loa-api", "testclient")
