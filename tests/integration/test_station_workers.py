"""Two station workers on one database and one broker: reports shared between them, one scheduler."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from broadcast import domain, protocol
from broadcast.config import Settings
from broadcast.fleet.devices import add_device
from broadcast.signing.keys import StationKeys
from broadcast.storage.db import Database, migrate
from tests.support import metrics
from tests.support.station import StationProcess, running, wait_until

ELECTED = "elected scheduler leader"
REPORTS = 40


def _log(station: StationProcess) -> str:
    path = station.data_dir / "station.log"
    return path.read_text(errors="replace") if path.exists() else ""


def _ingested(station: StationProcess) -> int:
    status, body = station.request("GET", "/metrics")
    assert status == 200
    return int(metrics.value(body, "loa_agent_messages_total"))


def _publish_heartbeats(port: int, password: str, device_id: str) -> None:
    """Send REPORTS heartbeats of one device in order, QoS 1, as the base station account (plain loopback)."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id="station", protocol=MQTTProtocolVersion.MQTTv5
    )
    client.username_pw_set("station", password)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        now = time.time()
        for n in range(REPORTS):
            beat = protocol.Heartbeat(device_id, now + n, 10.0, 5.0, None, 1, n, None, "ntp", True)
            info = client.publish(
                protocol.device_event_topic(device_id), protocol.encode_agent_message(beat), 1
            )
            info.wait_for_publish(5)
    finally:
        client.loop_stop()
        client.disconnect()


@pytest.mark.integration
def test_two_workers_share_reports_and_elect_one_scheduler(tmp_path: Path, database_url: str) -> None:
    env = {"BROADCAST_QUIET_HOURS": ""}
    first = StationProcess(
        tmp_path / "a",
        database_url=database_url,
        extra_env={**env, "BROADCAST_WORKER_ID": "1", "BROADCAST_STATION_WORKERS": "2"},
    )
    second = StationProcess(
        tmp_path / "b",
        database_url=database_url,
        extra_env={
            **env,
            "BROADCAST_WORKER_ID": "2",
            # No credentials in the URL: worker 2 logs in as station-2 with the shared station secret.
            "BROADCAST_MQTT_URL": f"mqtt://127.0.0.1:{first.mqtt_port}",
        },
    )
    first.data_dir.mkdir()
    first.cli("device", "add", "loa-1", "--zone", "thon-1", "--out", str(tmp_path / "loa-1.toml"))
    first.cli("user", "add", "canbo", "--role", "editor", "--password-stdin", stdin="mat-khau-bien-tap\n")
    editor = first.cli("token", "create", "canbo").strip()
    shutil.copytree(first.data_dir / "secrets", second.data_dir / "secrets")  # workers share the secrets
    passwd = (first.data_dir / "mosquitto" / "passwd").read_text()
    assert {line.split(":")[0] for line in passwd.splitlines()} >= {"station", "station-1", "station-2"}

    with running(first, second):
        first.start()
        second.start()
        assert "broker account station-1" in _log(first)
        assert "broker account station-2" in _log(second)
        assert [ELECTED in _log(s) for s in (first, second)] == [True, False]
        assert second.request("GET", "/healthz")[0] == 200

        password = StationKeys(first.data_dir / "secrets").broker_password()
        _publish_heartbeats(first.mqtt_port, password, "loa-1")
        shares = [0, 0]

        def all_ingested() -> bool:
            shares[:] = [_ingested(first), _ingested(second)]
            return sum(shares) >= REPORTS

        assert wait_until(all_ingested, 15), shares
        assert sum(shares) == REPORTS  # each report reached exactly one worker
        assert min(shares) > 0, shares  # and both took a share

        status, devices = second.request("GET", "/api/devices", editor)
        assert status == 200
        assert devices[0]["health"]["cache_bytes"] == REPORTS - 1  # the newest, whoever applied it last
        assert ELECTED not in _log(second)


def test_a_device_may_not_take_a_station_account_name(tmp_path: Path, database_url: str) -> None:
    migrate(database_url)
    db = Database(database_url)
    settings = Settings(data_dir=tmp_path, database_url=database_url, station_workers=2)
    try:
        for name in ("station", "station-1", "station-9"):
            with pytest.raises(domain.Invalid), db.session() as session:
                add_device(session, settings.broker, name, "thon-1", tmp_path / "s", "file:p", "test")
        with db.session() as session:
            add_device(session, settings.broker, "loa-station-1", "thon-1", tmp_path / "s", "file:p", "test")
    finally:
        db.dispose()
    users = [line.split(":")[0] for line in (tmp_path / "mosquitto" / "passwd").read_text().splitlines()]
    assert users == ["station", "station-1", "station-2", "loa-station-1"]
