"""Key rotation with real agents and Mosquitto: learned without re-flashing, old key dropped after grace.

The station side is the real keyring (broadcast.signing.key_rotation, StationKeys) in a temporary secrets dir;
its key update goes out through the real Announcer, retained, over the test station's MQTT client.
"""

from __future__ import annotations

import json
import math
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import select

from broadcast import cli, protocol
from broadcast.signing import key_rotation
from broadcast.signing.keys import StationKeys
from broadcast.storage.db import Database
from broadcast.storage.models import AuditEntry
from tests.edge_agent.conftest import new_keypair
from tests.edge_agent.programme_station import CLIP_SECONDS, ZONE, ProgrammeStation, make_sine_mp3, next_seq

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def mp3_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sine_mp3(tmp_path_factory.mktemp("audio") / "sine.mp3")


ONLINE, LATE = "loa-01", "loa-02"
SWITCH_S, GRACE_S = 1.5, 5.0


class ClientPublisher:
    """The station's publish call (QoS1, message expiry, retain) over the test station's paho client."""

    def __init__(self, station: ProgrammeStation) -> None:
        self.station = station

    def publish(
        self, topic: str, payload: bytes, *, expiry_s: float, retain: bool = False, wait: float = 5.0
    ) -> None:
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        properties.MessageExpiryInterval = math.ceil(expiry_s)
        info = self.station.client.publish(topic, payload, qos=1, retain=retain, properties=properties)
        info.wait_for_publish(wait)


@pytest.fixture
def setup(tmp_path: Path, mp3_clip: Path) -> Iterator[tuple[ProgrammeStation, StationKeys]]:
    keys = StationKeys(tmp_path / "secrets")
    original = (keys.signing_key_raw(), keys.public_key_b64())  # what every agent.toml pins
    station = ProgrammeStation(tmp_path / "station", [ONLINE, LATE], mp3_clip, original)
    try:
        for device in (ONLINE, LATE):
            station.add_agent(device)
        station.wait_for("agents online", lambda: station.online(ONLINE) and station.online(LATE))
        yield station, keys
    finally:
        station.close()


def _send(station: ProgrammeStation, key: bytes, device: str | None = None, start_in: float = 1.5) -> str:
    """Sign a play command starting in start_in s with key; publish it to the zone (or one device)."""
    now = time.time()
    command = protocol.PlayCommand(
        id=f"cmd-{time.time_ns()}",
        seq=next_seq(),
        issued_at=now,
        expires_at=now + 60,
        start_at=now + start_in,
        priority="normal",
        zones=(ZONE,),
        clip=station.clip,
        title="Thông báo",
    )
    topic = protocol.device_command_topic(device) if device else protocol.zone_command_topic(ZONE)
    properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    properties.MessageExpiryInterval = 60
    payload = protocol.sign_body(command.to_body(), key)
    station.client.publish(topic, payload, qos=1, properties=properties).wait_for_publish(5)
    return command.id


def _played_by(station: ProgrammeStation, command_id: str, devices: set[str]) -> None:
    station.wait_for(
        f"{command_id} played on {sorted(devices)}",
        lambda: {r.device_id for r in station.reports(protocol.PlayReport, command_id)} == devices,
        timeout=10,
    )


def _refused_by(station: ProgrammeStation, command_id: str, devices: set[str], reason: str) -> None:
    station.wait_for(
        f"{command_id} refused by {sorted(devices)}",
        lambda: {r.device_id for r in station.reports(protocol.CommandRejected, command_id)} >= devices,
    )
    assert all(reason in r.reason for r in station.reports(protocol.CommandRejected, command_id))


def _trusted(station: ProgrammeStation, device: str) -> Any:
    return json.loads((station.agents[device].directory / "state" / "keys.json").read_bytes())


def test_rotation_reaches_online_and_offline_agents_and_the_old_key_dies_after_grace(
    setup: tuple[ProgrammeStation, StationKeys],
) -> None:
    station, keys = setup
    old_key = keys.signing_key_raw()
    late = station.agents[LATE]
    assert late.stop() == 0  # switched off before the rotation; its session keeps what is sent to it
    station.wait_for("late agent offline", lambda: not station.online(LATE))

    rotation = key_rotation.rotate(keys.dir, switch_in_s=SWITCH_S, grace_s=GRACE_S)
    new_key = keys.signing_key_raw(now=rotation.switch_at)
    # Queued for the late agent ahead of the key update (as for an agent whose old session never
    # subscribed to the key topic): it must wait for the update, not be lost.
    queued = _send(station, new_key, device=LATE, start_in=5.0)
    assert key_rotation.Announcer(keys.dir).tick(ClientPublisher(station))
    log = station.agents[ONLINE].log_path
    station.wait_for(
        "the online agent learns the key", lambda: "accepted station key update 1" in log.read_text()
    )
    assert {k["kid"] for k in _trusted(station, ONLINE)["keys"]} == {rotation.old_kid, rotation.new_kid}

    # A stolen old key, within the grace: it may still sign commands, but not change the trusted keys.
    thief = new_keypair()
    forged = key_rotation.key_update(
        key_rotation.Keyring(2, (key_rotation.SigningKey(protocol.key_id(thief[1]), "-", thief[1]),)),
        time.time(),
    )
    station.client.publish(protocol.KEYS_TOPIC, protocol.sign_body(forged.to_body(), old_key), qos=1)
    station.wait_for("the forged key update refused", lambda: "refused key update" in log.read_text())
    assert "newest station key" in log.read_text()

    # The switch: the station now signs with the new key, the online agent plays it.
    time.sleep(max(0.0, rotation.switch_at - time.time()))
    assert keys.signing_key_raw() == new_key != old_key
    assert protocol.key_id(protocol.public_key_of(new_key)) == rotation.new_kid
    late.start()  # the late agent comes back meanwhile
    _played_by(station, _send(station, new_key), {ONLINE, LATE})
    _played_by(station, queued, {LATE})
    text = late.log_path.read_text()
    assert text.index(f"rejected command {queued}") < text.index("accepted station key update 1")

    # After the grace the old key is worthless, even across a power cut (agent.toml still pins it).
    time.sleep(max(0.0, rotation.old_not_after - time.time()) + 0.1)
    station.agents[ONLINE].stop(signal.SIGKILL)
    station.wait_for("agent offline (its will)", lambda: not station.online(ONLINE))
    station.agents[ONLINE].start()
    station.wait_for("agent back online", lambda: station.online(ONLINE))
    stolen = _send(station, old_key)
    _refused_by(station, stolen, {ONLINE, LATE}, "not trusted")
    for device in (ONLINE, LATE):
        state = _trusted(station, device)
        assert rotation.old_kid in state["retired"]
        assert [k["kid"] for k in state["keys"]] == [rotation.new_kid]
    _played_by(station, _send(station, new_key), {ONLINE, LATE})
    time.sleep(CLIP_SECONDS)
    assert station.agents[ONLINE].plays(stolen) == [] and late.plays(stolen) == []


def test_keyring_switches_at_the_switch_time_and_forgets_keys_past_their_grace(tmp_path: Path) -> None:
    keys = StationKeys(tmp_path)
    first = keys.signing_key_raw()
    now = time.time()
    rotation = key_rotation.rotate(tmp_path, now=now, switch_in_s=60, grace_s=3600)
    assert keys.signing_key_raw(now=now + 59) == first  # the old key signs until the switch
    second = keys.signing_key_raw(now=now + 60)
    assert protocol.key_id(protocol.public_key_of(second)) == rotation.new_kid
    assert rotation.old_not_after == now + 60 + 3600
    with pytest.raises(key_rotation.RotationError):
        key_rotation.rotate(tmp_path, now=now + 30)  # one rotation at a time
    # The announcement: the next key update, signed by the key in use, listing both keys.
    ring = key_rotation.load_keyring(tmp_path)
    assert ring is not None
    body = protocol.verify_message(ring.announcement.encode(), protocol.public_key_of(first))
    update = protocol.parse_key_update(body)
    assert update.seq == 1 and [(k.kid, k.not_after) for k in update.keys] == [
        (rotation.old_kid, now + 3660),
        (rotation.new_kid, None),
    ]
    # Long after: the next rotation drops the first key, and its private key leaves the disk.
    later = key_rotation.rotate(tmp_path, now=now + 7200, switch_in_s=0, grace_s=60)
    ring = key_rotation.load_keyring(tmp_path)
    assert ring is not None and [k.kid for k in ring.keys] == [rotation.new_kid, later.new_kid]
    assert not (tmp_path / key_rotation.ORIGINAL_KEY_FILE).exists()


def test_key_rotate_cli_is_audited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [n for n in os.environ if n.startswith("BROADCAST_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("BROADCAST_DATA_DIR", str(tmp_path))
    assert cli.main(["key", "rotate", "--switch-in", "0", "--grace", "1"]) == 0
    out = capsys.readouterr().out
    assert "Đã tạo khoá ký mới" in out and "Cảnh báo: thời gian ân hạn ngắn hơn" in out
    assert cli.main(["key", "list"]) == 0 and "đang ký" in capsys.readouterr().out
    assert cli.main(["key", "rotate", "--grace", "-1"]) == 2  # refused, in Vietnamese, nothing written
    assert "Lỗi: " in capsys.readouterr().err
    db = Database(f"sqlite:///{tmp_path / 'broadcast.db'}")
    try:
        with db.session() as session:
            (entry,) = session.scalars(select(AuditEntry).where(AuditEntry.action == "key.rotate"))
            assert entry.target.startswith("key:") and entry.address == "cli"
    finally:
        db.dispose()
