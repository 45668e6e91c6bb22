"""Volume and test-tone commands: role-checked, signed, delivered to that device only over the real broker."""

from __future__ import annotations

import queue
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from broadcast import protocol
from broadcast.fleet import devices
from edge_agent.config import load_config
from edge_agent.transport import tls_context
from tests.api.conftest import Api


def _subscribe_as_device(api: Api, tmp_path: Path, device_id: str) -> tuple[mqtt.Client, queue.Queue[bytes]]:
    with api.station.db.session() as session:
        enrolment = devices.add_device(
            session, api.station.settings.broker, device_id, "thon-2", tmp_path / "s", "file:p", "test"
        )
    path = tmp_path / f"{device_id}.toml"
    path.write_text(enrolment.agent_toml)
    config = load_config(path)
    received: queue.Queue[bytes] = queue.Queue()
    subscribed = queue.Queue[int]()
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=device_id, protocol=MQTTProtocolVersion.MQTTv5
    )
    client.username_pw_set(config.mqtt_username, config.mqtt_password)
    client.tls_set_context(tls_context(config))  # the managed broker takes devices over TLS only
    client.on_message = lambda c, u, message: received.put(bytes(message.payload))
    client.on_subscribe = lambda c, u, mid, codes, props: subscribed.put(mid)
    client.on_connect = lambda c, u, f, code, props: c.subscribe(
        protocol.device_command_topic(device_id), qos=1
    )
    client.connect(config.mqtt_host, config.mqtt_port)
    client.loop_start()
    subscribed.get(timeout=10)
    return client, received


def test_volume_and_tone_reach_the_device_signed(api: Api, tmp_path: Path) -> None:
    client, received = _subscribe_as_device(api, tmp_path, "loa-2")
    try:
        assert (
            api.client.post("/api/devices/loa-2/volume", json={"level": 70}, headers=api.editor).status_code
            == 403
        )
        sent = api.client.post("/api/devices/loa-2/volume", json={"level": 70}, headers=api.approver)
        assert sent.status_code == 202, sent.text
        body = protocol.verify_message(received.get(timeout=10), api.station.keys.public_key_b64())
        volume = protocol.parse_volume_command(body)
        assert volume.id == sent.json()["command_id"]
        assert volume.level == 70
        assert volume.zones == ("thon-2",)

        tone = api.client.post("/api/devices/loa-2/test-tone", json={"duration_s": 2}, headers=api.approver)
        assert tone.status_code == 202
        parsed = protocol.parse_test_tone_command(
            protocol.verify_message(received.get(timeout=10), api.station.keys.public_key_b64())
        )
        assert parsed.duration_s == 2
        assert parsed.seq > volume.seq
    finally:
        client.loop_stop()
        client.disconnect()


def test_bad_control_requests(api: Api) -> None:
    for path, body in [
        ("/api/devices/loa-1/volume", {"level": 101}),
        ("/api/devices/loa-1/volume", {"level": "to"}),
        ("/api/devices/loa-1/test-tone", {"duration_s": 600}),
        ("/api/devices/loa-1/test-tone", {"frequency": 5}),
    ]:
        assert api.client.post(path, json=body, headers=api.approver).status_code == 422
    missing = api.client.post("/api/devices/khong-co/volume", json={"level": 10}, headers=api.approver)
    assert missing.status_code == 404
    assert api.client.post("/api/devices/loa-1/volume", json={"level": 10}).status_code == 401
