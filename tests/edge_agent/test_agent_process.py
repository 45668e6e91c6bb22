"""Two real edge-agent processes, a real Mosquitto and a real HTTP clip server, driven like the station."""

from __future__ import annotations

import hashlib
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from broadcast import protocol
from broadcast.mqtt.broker import BrokerConfig, ManagedBroker, write_credentials
from broadcast.mqtt.credentials import STATION_USER, DeviceCredential, hash_password, new_password
from edge_agent.config import AgentConfig, dump_config
from tests.edge_agent.programme_station import AgentProcess, next_seq
from tests.support.free_port import free_port
from tests.support.timing import ON_TIME_S

pytestmark = pytest.mark.integration

ZONE = "thon-1"
DEVICES = ("loa-01", "loa-02")
CLIP_SECONDS = 2.0


class Station:
    """The test station: broker, clip server, signing key, and an MQTT client listening to agents."""

    def __init__(self, root: Path, serve_clips: Callable[[Path, list[str]], str], mp3: Path) -> None:
        self.root = root
        self.messages: list[protocol.AgentMessage] = []
        self.changed = threading.Condition()
        self.agents: dict[str, AgentProcess] = {}
        self.next_free = time.time()
        www = root / "www" / "clips"
        www.mkdir(parents=True)
        data = mp3.read_bytes()
        self.sha256 = hashlib.sha256(data).hexdigest()
        shutil.copy(mp3, www / f"{self.sha256}.mp3")
        self.base_url = serve_clips(root / "www", [])
        self.clip = protocol.ClipRef(
            f"{self.base_url}/clips/{self.sha256}.mp3", self.sha256, len(data), CLIP_SECONDS
        )
        station_password = new_password()
        self.device_passwords = {device: new_password() for device in DEVICES}
        self.broker_config = BrokerConfig(directory=root / "broker", port=free_port())
        write_credentials(
            self.broker_config,
            hash_password(station_password),
            [DeviceCredential(d, hash_password(p), (ZONE,)) for d, p in self.device_passwords.items()],
        )
        self.broker = ManagedBroker(self.broker_config)
        self.broker.start()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=STATION_USER, protocol=MQTTProtocolVersion.MQTTv5
        )
        self.client.username_pw_set(STATION_USER, station_password)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", self.broker_config.port)
        self.client.subscribe([(protocol.STATUS_SUBSCRIPTION, 1), (protocol.EVENT_SUBSCRIPTION, 1)])
        self.client.loop_start()

    def add_agent(self, device_id: str, public_key: str) -> AgentProcess:
        directory = self.root / device_id
        directory.mkdir()
        config = AgentConfig(
            device_id=device_id,
            zones=(ZONE,),
            station_url=self.base_url,
            station_public_key=public_key,
            mqtt_host="127.0.0.1",
            mqtt_port=self.broker_config.port,
            mqtt_username=device_id,
            mqtt_password=self.device_passwords[device_id],
            state_dir=Path("state"),
            output="file:plays",
        )
        (directory / "agent.toml").write_text(dump_config(config))
        self.agents[device_id] = agent = AgentProcess(directory, log_level="DEBUG")
        agent.start()
        return agent

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        parsed = protocol.parse_agent_message(
            bytes(message.payload), protocol.device_id_from_topic(message.topic)
        )
        with self.changed:
            self.messages.append(parsed)
            self.changed.notify_all()

    def command(
        self, key: bytes, start_in: float = 2.5, **overrides: Any
    ) -> tuple[protocol.PlayCommand, bytes]:
        """Return a signed play command that starts once the speakers are free again."""
        now = time.time()
        start_at = max(now + start_in, self.next_free + 0.5)
        self.next_free = start_at + CLIP_SECONDS
        command = protocol.PlayCommand(
            id=f"cmd-{time.time_ns()}",
            seq=next_seq(),
            issued_at=now,
            expires_at=start_at + 20,
            start_at=start_at,
            priority="normal",
            zones=(ZONE,),
            clip=self.clip,
            title="Thông báo lịch tiêm phòng",
        )
        body = {**command.to_body(), **overrides}
        return protocol.parse_play_command(body), protocol.sign_body(body, key)

    def publish(
        self, payload: bytes, expires_at: float, topic: str = protocol.zone_command_topic(ZONE)
    ) -> None:
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        properties.MessageExpiryInterval = max(1, int(expires_at - time.time()))
        self.client.publish(topic, payload, qos=1, properties=properties).wait_for_publish(5)

    def wait_for(self, what: str, check: Callable[[], bool], timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not check():
                if time.monotonic() > deadline:
                    logs = "\n".join(f"--- {d}\n{a.tail()}" for d, a in self.agents.items())
                    pytest.fail(f"timed out waiting for {what}\nmessages: {self.messages}\n{logs}")
                self.changed.wait(0.1)

    def reports(self, kind: type[protocol.AgentMessage], command_id: str) -> list[Any]:
        with self.changed:
            return [
                m for m in self.messages if isinstance(m, kind) and getattr(m, "command_id", "") == command_id
            ]

    def last_status(self, device_id: str) -> str | None:
        with self.changed:
            states = [
                m.state
                for m in self.messages
                if isinstance(m, protocol.DeviceStatus) and m.device_id == device_id
            ]
        return states[-1] if states else None

    def close(self) -> None:
        for agent in self.agents.values():
            agent.stop(signal.SIGKILL)
        self.client.loop_stop()
        self.client.disconnect()
        self.broker.stop()


@pytest.fixture(scope="module")
def station(
    tmp_path_factory: pytest.TempPathFactory,
    serve_clips: Callable[[Path, list[str]], str],
    mp3_clip: Path,
    station_key: tuple[bytes, str],
) -> Iterator[Station]:
    station = Station(tmp_path_factory.mktemp("station"), serve_clips, mp3_clip)
    try:
        for device in DEVICES:
            station.add_agent(device, station_key[1])
        for device in DEVICES:
            station.wait_for(f"{device} online", lambda d=device: station.last_status(d) == "online")  # type: ignore[misc]
        yield station
    finally:
        station.close()


def _plays(station: Station, device: str, command_id: str) -> list[dict[str, Any]]:
    return [p for p in station.agents[device].plays() if p["command_id"] == command_id]


def test_zone_command_plays_on_both_agents_in_sync(station: Station, station_key: tuple[bytes, str]) -> None:
    command, payload = station.command(station_key[0], start_in=3)
    station.publish(payload, command.expires_at)
    station.wait_for("both play reports", lambda: len(station.reports(protocol.PlayReport, command.id)) == 2)
    for device in DEVICES:
        (play,) = _plays(station, device, command.id)
        assert play["clip_sha256"] == station.sha256
        assert abs(play["started_at"] - command.start_at) < ON_TIME_S
        assert (play["device_id"], play["priority"], play["duration_s"]) == (device, "normal", CLIP_SECONDS)
        kept = station.agents[device].directory / "plays" / play["file"]
        assert hashlib.sha256(kept.read_bytes()).hexdigest() == station.sha256
    reports = station.reports(protocol.PlayReport, command.id)
    assert {r.device_id for r in reports} == set(DEVICES)
    assert all(abs(r.started_at - command.start_at) < ON_TIME_S for r in reports)


def test_forged_command_is_rejected_and_never_plays(
    station: Station, station_key: tuple[bytes, str], other_key: tuple[bytes, str]
) -> None:
    command, payload = station.command(other_key[0], start_in=1)
    station.publish(payload, command.expires_at)
    station.wait_for(
        "both rejections", lambda: len(station.reports(protocol.CommandRejected, command.id)) == 2
    )
    assert all("bad signature" in r.reason for r in station.reports(protocol.CommandRejected, command.id))
    time.sleep(max(0.0, command.start_at + 0.3 - time.time()))
    assert station.reports(protocol.PlayReport, command.id) == []
    assert all(_plays(station, device, command.id) == [] for device in DEVICES)


def test_duplicate_command_plays_once(station: Station, station_key: tuple[bytes, str]) -> None:
    command, payload = station.command(station_key[0])
    station.publish(payload, command.expires_at)
    station.publish(payload, command.expires_at)  # a station retry, or a QoS1 redelivery
    station.wait_for("both play reports", lambda: len(station.reports(protocol.PlayReport, command.id)) == 2)
    # A second copy that got through would queue behind the first and only surface (played late, or
    # skipped as a missed start) once the first ends; the agents' logs show it was dropped on arrival.
    for agent in station.agents.values():
        assert f"ignored command {command.id}: already received" in agent.log_path.read_text()
    time.sleep(0.5)
    assert len(station.reports(protocol.PlayReport, command.id)) == 2
    assert all(len(_plays(station, device, command.id)) == 1 for device in DEVICES)
    assert station.reports(protocol.CommandRejected, command.id) == []  # duplicates are routine, not reported


def test_device_topic_reaches_only_that_device(station: Station, station_key: tuple[bytes, str]) -> None:
    command, payload = station.command(station_key[0])
    station.publish(payload, command.expires_at, topic=protocol.device_command_topic("loa-02"))
    station.wait_for("loa-02 play report", lambda: len(station.reports(protocol.PlayReport, command.id)) == 1)
    time.sleep(0.3)
    assert [r.device_id for r in station.reports(protocol.PlayReport, command.id)] == ["loa-02"]
    assert _plays(station, "loa-01", command.id) == []


def test_command_sent_while_stopped_plays_after_restart(
    station: Station, station_key: tuple[bytes, str]
) -> None:
    agent = station.agents["loa-02"]
    assert agent.stop() == 0  # SIGTERM: graceful
    station.wait_for("loa-02 offline", lambda: station.last_status("loa-02") == "offline")
    command, payload = station.command(station_key[0], start_in=4)
    station.publish(payload, command.expires_at)  # queued by the broker in loa-02's persistent session
    time.sleep(0.3)
    agent.start()
    station.wait_for("both play reports", lambda: len(station.reports(protocol.PlayReport, command.id)) == 2)
    for device in DEVICES:
        (play,) = _plays(station, device, command.id)
        assert abs(play["started_at"] - command.start_at) < ON_TIME_S


def test_accepted_command_survives_a_power_cut(station: Station, station_key: tuple[bytes, str]) -> None:
    agent = station.agents["loa-01"]
    pending = agent.directory / "state" / "pending"
    command, payload = station.command(station_key[0], start_in=4)
    station.publish(payload, command.expires_at)
    deadline = time.monotonic() + 5
    while not any(pending.glob("*.cmd")) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert any(pending.glob("*.cmd")), agent.tail()
    agent.stop(signal.SIGKILL)  # the broker already has the ack: only the agent's own disk can keep it
    agent.start()
    station.wait_for("both play reports", lambda: len(station.reports(protocol.PlayReport, command.id)) == 2)
    (play,) = _plays(station, "loa-01", command.id)
    assert abs(play["started_at"] - command.start_at) < ON_TIME_S
    assert f"restored command {command.id}" in agent.log_path.read_text()
    assert not any(pending.glob("*.cmd"))


def test_killed_agent_is_reported_offline_by_its_will(station: Station) -> None:
    station.wait_for("loa-01 online", lambda: station.last_status("loa-01") == "online")
    station.agents["loa-01"].stop(signal.SIGKILL)
    station.wait_for("loa-01 offline (last will)", lambda: station.last_status("loa-01") == "offline")
    with station.changed:  # flagged, so the station applies it whatever its time (reports/intake.py)
        statuses = [m for m in station.messages if isinstance(m, protocol.DeviceStatus)]
    assert [m.will for m in statuses if m.device_id == "loa-01"][-2:] == [False, True]
