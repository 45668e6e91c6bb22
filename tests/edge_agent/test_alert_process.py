"""Emergency alerts end to end: real Mosquitto, three real agent processes (zones A and B), file sinks."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from broadcast import protocol
from broadcast.mqtt.broker import BrokerConfig, ManagedBroker, write_credentials
from broadcast.mqtt.credentials import STATION_USER, DeviceCredential, hash_password, new_password
from edge_agent.config import AgentConfig, dump_config
from tests.edge_agent.conftest import ClipServe
from tests.edge_agent.programme_station import AgentProcess, next_seq
from tests.support.free_port import free_port
from tests.support.timing import ON_TIME_S

pytestmark = pytest.mark.integration

ZONE_A, ZONE_B = "thon-a", "thon-b"
DEVICES = {"loa-a1": ZONE_A, "loa-a2": ZONE_A, "loa-b1": ZONE_B}
PREEMPT_S = 0.3


class AlertStation:
    """Broker, clip server (any bytes: the file sink does not decode) and a listening station client."""

    def __init__(self, root: Path, serve_clips: ClipServe, key: tuple[bytes, str]) -> None:
        self.root, self.key = root, key
        self.messages: list[protocol.AgentMessage] = []
        self.requests: list[str] = []
        self.agents: dict[str, AgentProcess] = {}
        (root / "www" / "clips").mkdir(parents=True)
        self.base_url = serve_clips(root / "www", self.requests)
        password = new_password()
        self.passwords = {device: new_password() for device in DEVICES}
        self.broker_config = BrokerConfig(directory=root / "broker", port=free_port())
        credentials = [
            DeviceCredential(d, hash_password(self.passwords[d]), (z,)) for d, z in DEVICES.items()
        ]
        write_credentials(self.broker_config, hash_password(password), credentials)
        self.broker = ManagedBroker(self.broker_config)
        self.broker.start()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=STATION_USER, protocol=MQTTProtocolVersion.MQTTv5
        )
        self.client.username_pw_set(STATION_USER, password)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", self.broker_config.port)
        self.client.subscribe([(protocol.STATUS_SUBSCRIPTION, 1), (protocol.EVENT_SUBSCRIPTION, 1)])
        self.client.loop_start()

    def clip(self, name: str, size: int, duration_s: float) -> protocol.ClipRef:
        data = (name.encode() * size)[:size]
        sha = hashlib.sha256(data).hexdigest()
        (self.root / "www" / "clips" / f"{sha}.mp3").write_bytes(data)
        return protocol.ClipRef(f"{self.base_url}/clips/{sha}.mp3", sha, size, duration_s)

    def add_agent(self, device_id: str) -> AgentProcess:
        directory = self.root / device_id
        directory.mkdir()
        config = AgentConfig(
            device_id=device_id,
            zones=(DEVICES[device_id],),
            station_url=self.base_url,
            station_public_key=self.key[1],
            mqtt_host="127.0.0.1",
            mqtt_port=self.broker_config.port,
            mqtt_username=device_id,
            mqtt_password=self.passwords[device_id],
            state_dir=Path("state"),
            output="file:plays",
            heartbeat_interval_s=600.0,
        )
        (directory / "agent.toml").write_text(dump_config(config))
        self.agents[device_id] = agent = AgentProcess(directory)
        agent.start()
        return agent

    def send(self, command: Any, topic: str, retain: bool = False) -> float:
        """Sign and publish (QoS 1); return when it was handed to the broker."""
        payload = protocol.sign_body(command.to_body(), self.key[0])
        sent = time.time()
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)
        return sent

    def of(self, kind: type[protocol.AgentMessage], command_id: str, device: str | None = None) -> list[Any]:
        return [
            m
            for m in list(self.messages)
            if isinstance(m, kind)
            and getattr(m, "command_id", "") == command_id
            and (device is None or m.device_id == device)
        ]

    def online(self) -> set[str]:
        states: dict[str, str] = {}
        for m in list(self.messages):
            if isinstance(m, protocol.DeviceStatus):
                states[m.device_id] = m.state
        return {d for d, s in states.items() if s == "online"}

    def wait_for(self, what: str, check: Callable[[], bool], timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                logs = "\n".join(f"--- {d}\n{a.tail()}" for d, a in self.agents.items())
                pytest.fail(f"timed out waiting for {what}\n{logs}")
            time.sleep(0.02)

    def close(self) -> None:
        for agent in self.agents.values():
            agent.kill()
        self.client.loop_stop()
        self.client.disconnect()
        self.broker.stop()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        device = protocol.device_id_from_topic(message.topic)
        self.messages.append(protocol.parse_agent_message(bytes(message.payload), device))


@pytest.fixture
def station(tmp_path: Path, serve_clips: ClipServe, station_key: tuple[bytes, str]) -> Iterator[AlertStation]:
    station = AlertStation(tmp_path, serve_clips, station_key)
    yield station
    station.close()


def _alerts(agent: AgentProcess, command_id: str, part: str | None = None) -> list[dict[str, Any]]:
    plays = [p for p in agent.plays(command_id) if p.get("kind") == "alert"]
    return [p for p in plays if part is None or p["part"] == part]


def _play(
    clip: protocol.ClipRef, command_id: str, start_at: float, zones: tuple[str, ...]
) -> protocol.PlayCommand:
    now = time.time()
    return protocol.PlayCommand(
        command_id, next_seq(), now, start_at + 60, start_at, "normal", zones, clip, "Bản tin"
    )


def _alert(
    command_id: str,
    clip: protocol.ClipRef,
    siren: protocol.ClipRef,
    *,
    zones: tuple[str, ...] = (ZONE_A,),
    **kw: Any,
) -> protocol.AlertCommand:
    now = time.time()
    fields: dict[str, Any] = {"repeat": 3, "interval_s": 0.3, "expires_at": now + 60, **kw}
    return protocol.AlertCommand(
        id=command_id,
        seq=next_seq(),
        issued_at=now,
        zones=zones,
        alert_id=1,
        clip=clip,
        preamble=siren,
        title="Lũ quét",
        **fields,
    )


def test_alert_preempts_repeats_cancels_and_expires(station: AlertStation) -> None:
    bulletin = station.clip("bulletin", 4000, 20.0)
    siren = station.clip("siren", 3000, 0.3)
    message = station.clip("lu-quet", 2000, 0.5)
    correction = station.clip("huy", 1000, 0.4)
    short = station.clip("next", 1000, 1.0)
    agents = {device: station.add_agent(device) for device in DEVICES}
    station.wait_for("all agents online", lambda: station.online() == set(DEVICES), timeout=15)

    # The programmes ask every agent to keep the siren: fetched ahead and pinned. Their (empty) window
    # ends before this test's lone plays: a lone play a held window covers must be one of its entries.
    now = time.time()
    for version, zone in enumerate((ZONE_A, ZONE_B), start=1):
        programme = protocol.ProgrammeMessage(
            f"prog-{zone}", version, now, now + 3600, zone, 1, now - 60, now + 0.5, (), prefetch=(siren,)
        )
        station.send(programme, protocol.zone_programme_topic(zone), retain=True)
    station.wait_for(
        "the siren prefetched",
        lambda: all((a.directory / "state" / "clips" / siren.sha256).exists() for a in agents.values()),
    )

    # A 20 s bulletin on all three, and a short item for zone A after the alert.
    t0 = time.time()
    for zone in (ZONE_A, ZONE_B):
        station.send(
            _play(bulletin, "bulletin", t0 + 1.0, (ZONE_A, ZONE_B)), protocol.zone_command_topic(zone)
        )
    station.send(_play(short, "next", t0 + 6.5, (ZONE_A,)), protocol.zone_command_topic(ZONE_A))
    station.wait_for("the bulletin on air", lambda: all(a.plays("bulletin") for a in agents.values()))
    time.sleep(0.5)

    # Alert 1: inline audio, zone A only.
    inline = base64.b64encode((b"lu-quet" * 2000)[:2000]).decode()
    sent = station.send(
        _alert("alert-1", message, siren, audio_b64=inline), protocol.zone_command_topic(ZONE_A)
    )
    a_agents = [agents["loa-a1"], agents["loa-a2"]]
    station.wait_for("three repeats", lambda: all(len(_alerts(a, "alert-1", "audio")) == 3 for a in a_agents))
    latencies = []
    for agent in a_agents:
        plays = _alerts(agent, "alert-1")
        assert [(p["part"], p["repeat_index"]) for p in plays] == [
            ("preamble", 0),
            ("audio", 0),
            ("preamble", 1),
            ("audio", 1),
            ("preamble", 2),
            ("audio", 2),
        ]
        latencies.append(plays[0]["started_at"] - sent)
        assert plays[0]["started_at"] > agent.plays("bulletin")[0]["started_at"]
    print(f"preemption latency (publish -> siren on the output): {[f'{x * 1000:.0f} ms' for x in latencies]}")
    assert max(latencies) < PREEMPT_S
    assert not _alerts(agents["loa-b1"], "alert-1")
    assert station.requests.count(f"/clips/{message.sha256}.mp3") == 0  # inline: nothing fetched
    station.wait_for(
        "acks",
        lambda: (
            {m.device_id for m in station.of(protocol.CommandReceived, "alert-1")} == {"loa-a1", "loa-a2"}
        ),
    )
    reports = station.of(protocol.PlayReport, "alert-1")
    assert {r.device_id for r in reports} == {"loa-a1", "loa-a2"}
    assert all(r.priority == "emergency" and r.clip_sha256 == message.sha256 for r in reports)
    station.wait_for("bulletin skipped", lambda: len(station.of(protocol.CommandRejected, "bulletin")) == 2)
    rejected = station.of(protocol.CommandRejected, "bulletin")
    assert {r.device_id for r in rejected} == {"loa-a1", "loa-a2"}
    assert all(r.reason.startswith("interrupted by alert") for r in rejected)

    # The programme goes on: the next item plays at its time on zone A.
    station.wait_for("the next item", lambda: all(a.plays("next") for a in a_agents))
    for agent in a_agents:
        assert abs(agent.plays("next")[0]["started_at"] - (t0 + 6.5)) < ON_TIME_S
        assert len(agent.plays("bulletin")) == 1  # skipped, not resumed

    # Alert 2: fetched (no inline), long repeats; a cancel stops it and plays the correction.
    station.wait_for("next ended", lambda: time.time() > t0 + 7.6)
    station.send(
        _alert("alert-2", message, siren, repeat=5, interval_s=1.0), protocol.zone_command_topic(ZONE_A)
    )
    station.wait_for("alert 2 heard", lambda: all(_alerts(a, "alert-2", "audio") for a in a_agents))
    cancel = protocol.CancelCommand(
        "cancel-2", next_seq(), time.time(), time.time() + 60, (ZONE_A,), "alert-2", correction
    )
    cancelled_at = station.send(cancel, protocol.zone_command_topic(ZONE_A))
    station.wait_for("the correction", lambda: all(_alerts(a, "cancel-2", "correction") for a in a_agents))
    time.sleep(1.5)
    for agent in a_agents:
        parts = _alerts(agent, "alert-2")
        assert len([p for p in parts if p["part"] == "audio"]) < 5
        assert all(p["started_at"] < cancelled_at + PREEMPT_S for p in parts)
        assert _alerts(agent, "cancel-2")[0]["started_at"] - cancelled_at < 1.0
    assert all("cancelled by cancel-2" in r.reason for r in station.of(protocol.CommandRejected, "alert-2"))

    # A cancel that overtakes its alert: the alert never plays (and its lower sequence number, signed
    # before the cancel's, is still within the agents' replay window).
    alert_3 = _alert("alert-3", message, siren)
    early = protocol.CancelCommand(
        "cancel-3", next_seq(), time.time(), time.time() + 60, (ZONE_A,), "alert-3"
    )
    station.send(early, protocol.zone_command_topic(ZONE_A))
    station.send(alert_3, protocol.zone_command_topic(ZONE_A))
    station.wait_for("alert 3 refused", lambda: len(station.of(protocol.CommandRejected, "alert-3")) == 2)

    # An agent offline past the alert's expiry never plays it when it comes back.
    late = agents["loa-a2"]
    assert late.process is not None
    late.process.terminate()
    late.process.wait(timeout=10)
    station.send(
        _alert("alert-4", message, siren, expires_at=time.time() + 1.0), protocol.zone_command_topic(ZONE_A)
    )
    time.sleep(1.2)
    late.start()
    station.wait_for(
        "the expired alert refused",
        lambda: any(
            r.reason.startswith("expired") for r in station.of(protocol.CommandRejected, "alert-4", "loa-a2")
        ),
    )
    assert not _alerts(late, "alert-4") and not _alerts(late, "alert-3")
    assert not [p for p in agents["loa-b1"].plays() if p.get("kind") == "alert"]
