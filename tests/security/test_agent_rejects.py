"""Acceptance: a real agent on a real Mosquitto refuses forged, replayed, expired and misdirected commands.

Each refusal must be visible twice: a line in the agent's log, and a CommandRejected report that reaches
the station over MQTT (through the agent's durable outbox). None of them may ever play.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from broadcast import protocol
from edge_agent.sequence import WINDOW
from tests.edge_agent.conftest import new_keypair
from tests.edge_agent.programme_station import CLIP_SECONDS, ZONE, ProgrammeStation, make_sine_mp3, next_seq

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def mp3_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sine_mp3(tmp_path_factory.mktemp("audio") / "sine.mp3")


DEVICE = "loa-01"
STATION_KEY = new_keypair()


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory, mp3_clip: Path) -> Iterator[ProgrammeStation]:
    station = ProgrammeStation(tmp_path_factory.mktemp("rejects"), [DEVICE], mp3_clip, STATION_KEY)
    try:
        station.add_agent(DEVICE)
        station.wait_for("agent online", lambda: station.online(DEVICE))
        yield station
    finally:
        station.close()


def _command(station: ProgrammeStation, key: bytes = STATION_KEY[0], **overrides: Any) -> tuple[str, bytes]:
    """Return (id, signed payload) of a play command starting in 1.5 s; overrides change any field."""
    now = time.time()
    command = protocol.PlayCommand(
        id=f"cmd-{time.time_ns()}",
        seq=next_seq(),
        issued_at=now,
        expires_at=now + 30,
        start_at=now + 1.5,
        priority="emergency",
        zones=(ZONE,),
        clip=station.clip,
        title="Thông báo khẩn",
    )
    body = {**command.to_body(), **overrides}
    return body["id"], protocol.sign_body(body, key)


def _send(station: ProgrammeStation, payload: bytes, topic: str = protocol.zone_command_topic(ZONE)) -> None:
    """Publish QoS1 without a message expiry: an attacker replaying a capture sets none."""
    station.client.publish(topic, payload, qos=1).wait_for_publish(5)


def _assert_rejected(station: ProgrammeStation, command_id: str, reason: str) -> None:
    """Wait for the station to get the CommandRejected report; check the agent logged it and never played."""
    station.wait_for(
        f"rejection of {command_id}", lambda: bool(station.reports(protocol.CommandRejected, command_id))
    )
    reasons = [r.reason for r in station.reports(protocol.CommandRejected, command_id)]
    assert any(reason in r for r in reasons), reasons
    agent = station.agents[DEVICE]
    assert f"rejected command {command_id} from" in agent.log_path.read_text(), agent.tail()
    assert station.reports(protocol.PlayReport, command_id) == []
    assert agent.plays(command_id) == []


def test_forged_command_is_rejected_and_reported(station: ProgrammeStation) -> None:
    forger = new_keypair()
    command_id, payload = _command(station, key=forger[0])
    _send(station, payload)
    _assert_rejected(station, command_id, "bad signature")


def test_expired_command_is_rejected_and_reported(station: ProgrammeStation) -> None:
    now = time.time()
    command_id, payload = _command(station, issued_at=now - 120, start_at=now - 60, expires_at=now - 30)
    _send(station, payload)
    _assert_rejected(station, command_id, "expired")


def test_command_for_another_zone_is_rejected_and_reported(station: ProgrammeStation) -> None:
    # On this device's own topic (only the station may publish there), but meant for another zone.
    command_id, payload = _command(station, zones=["thon-9"])
    _send(station, payload, topic=protocol.device_command_topic(DEVICE))
    _assert_rejected(station, command_id, "not this device's")


def test_replays_are_rejected_and_reported_even_after_a_power_cut(station: ProgrammeStation) -> None:
    agent = station.agents[DEVICE]
    seq = next_seq(skip=2 * WINDOW)  # the station has signed many commands (other zones) meanwhile
    now = time.time()
    command_id, payload = _command(station, seq=seq, start_at=now + 1.0, expires_at=now + 2.0)
    properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    properties.MessageExpiryInterval = 3  # as the station sends it
    station.client.publish(protocol.zone_command_topic(ZONE), payload, qos=1, properties=properties)
    station.wait_for(
        "the genuine command plays", lambda: bool(station.reports(protocol.PlayReport, command_id))
    )
    time.sleep(max(0.0, now + 1.0 + CLIP_SECONDS + 0.3 - time.time()))  # played out, and expired

    agent.stop(signal.SIGKILL)  # a power cut: only what the agent wrote to disk survives
    station.wait_for("agent offline (its will)", lambda: not station.online(DEVICE))
    agent.start()
    station.wait_for("agent back online", lambda: station.online(DEVICE))

    # The very same bytes again (a Dallas-style replay): refused by id, the copy arriving after expiry.
    _send(station, payload)
    # A new id with a sequence number already used, and one far below the last accepted (a command
    # the station signed long ago, its id long forgotten): refused by number.
    reused_id, reused = _command(station, seq=seq)
    old_id, old = _command(station, seq=seq - WINDOW - 1)
    _send(station, reused)
    _send(station, old)
    station.wait_for(
        "the replay reported", lambda: bool(station.reports(protocol.CommandRejected, command_id))
    )
    assert any("replayed" in r.reason for r in station.reports(protocol.CommandRejected, command_id))
    assert "replayed: already received" in agent.log_path.read_text()
    _assert_rejected(station, reused_id, "already accepted")
    _assert_rejected(station, old_id, "far below")
    assert len(agent.plays(command_id)) == 1
    # The station's next command is still welcome.
    fresh_id, fresh = _command(station)
    _send(station, fresh)
    station.wait_for("a fresh command plays", lambda: bool(station.reports(protocol.PlayReport, fresh_id)))
