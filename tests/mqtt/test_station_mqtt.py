"""The station's MQTT client against a real Mosquitto with generated passwd/ACL files."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from broadcast import protocol
from broadcast.mqtt.broker import BrokerConfig, ManagedBroker, write_credentials
from broadcast.mqtt.client import MqttError, MqttTarget, StationMqtt
from broadcast.mqtt.credentials import STATION_USER, DeviceCredential, hash_password, new_password
from tests.support.free_port import free_port

DEVICE = "loa-01"
ZONE = "xom-1"
ZONE_TOPIC = protocol.zone_command_topic(ZONE)
EVENT_TOPIC = protocol.device_event_topic(DEVICE)


@dataclass(frozen=True)
class Broker:
    port: int
    station_password: str
    device_password: str
    managed: ManagedBroker

    def station_target(self, password: str | None = None) -> MqttTarget:
        return MqttTarget("127.0.0.1", self.port, STATION_USER, password or self.station_password)


class Device:
    """A plain paho client logged in as the device (what an edge agent looks like to the broker)."""

    def __init__(self, broker: Broker, *, persistent: bool = False) -> None:
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.acks: queue.Queue[ReasonCode] = queue.Queue()
        self._connected = threading.Event()
        self._broker = broker
        self._persistent = persistent
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=DEVICE, protocol=MQTTProtocolVersion.MQTTv5
        )
        self.client.username_pw_set(DEVICE, broker.device_password)
        self.client.on_connect = lambda c, u, f, reason, p: self._connected.set()
        self.client.on_message = lambda c, u, message: self.messages.put(message)
        self.client.on_publish = lambda c, u, mid, reason, p: self.acks.put(reason)

    def connect(self) -> Device:
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = 3600 if self._persistent else 0
        self._connected.clear()
        self.client.connect(
            "127.0.0.1", self._broker.port, clean_start=not self._persistent, properties=properties
        )
        self.client.loop_start()
        assert self._connected.wait(5), "device did not connect"
        return self

    def subscribe(self, topic: str) -> None:
        done = threading.Event()
        self.client.on_subscribe = lambda c, u, mid, reasons, p: done.set()
        self.client.subscribe(topic, qos=1)
        assert done.wait(5), "no SUBACK"

    def publish(self, topic: str, payload: bytes) -> ReasonCode:
        self.client.publish(topic, payload, qos=1).wait_for_publish(5)
        return self.acks.get(timeout=5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    config = BrokerConfig(directory=tmp_path / "mosquitto", port=free_port())
    station_password, device_password = new_password(), new_password()
    write_credentials(
        config,
        hash_password(station_password),
        [DeviceCredential(DEVICE, hash_password(device_password), (ZONE,))],
    )
    managed = ManagedBroker(config)
    managed.start()
    yield Broker(config.port, station_password, device_password, managed)
    managed.stop()


@pytest.fixture
def open_clients() -> Iterator[Callable[[StationMqtt | Device], None]]:
    """Register clients to close at teardown, whatever the test did."""
    clients: list[StationMqtt | Device] = []
    yield clients.append
    for client in reversed(clients):
        if isinstance(client, StationMqtt):
            client.stop()
        else:
            client.close()


@pytest.fixture
def station(broker: Broker, open_clients: Callable[[StationMqtt | Device], None]) -> StationMqtt:
    client = StationMqtt(broker.station_target())
    open_clients(client)
    client.start(timeout=5)
    return client


@pytest.fixture
def device(broker: Broker, open_clients: Callable[[StationMqtt | Device], None]) -> Device:
    client = Device(broker)
    open_clients(client)
    return client.connect()


class Inbox:
    """Collect (topic, payload) from the station's consumer thread."""

    def __init__(self) -> None:
        self.items: queue.Queue[tuple[str, bytes]] = queue.Queue()

    def __call__(self, topic: str, payload: bytes) -> None:
        self.items.put((topic, payload))

    def get(self, timeout: float = 5.0) -> tuple[str, bytes]:
        return self.items.get(timeout=timeout)


def test_command_with_expiry_reaches_the_zone(station: StationMqtt, device: Device) -> None:
    device.subscribe(ZONE_TOPIC)
    station.publish(ZONE_TOPIC, b'{"kind":"play"}', expiry_s=59.5)
    message = device.messages.get(timeout=5)
    assert (message.topic, message.payload, message.qos) == (ZONE_TOPIC, b'{"kind":"play"}', 1)
    assert 0 < getattr(message.properties, "MessageExpiryInterval", 0) <= 60


def test_device_event_reaches_the_station_and_a_failing_handler_does_not_stop_it(
    broker: Broker, device: Device, open_clients: Callable[[StationMqtt | Device], None]
) -> None:
    inbox = Inbox()
    calls = 0

    def handler(topic: str, payload: bytes) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ValueError("a bad report")
        inbox(topic, payload)

    station = StationMqtt(broker.station_target())
    open_clients(station)
    station.on_agent_message(handler)
    station.start(timeout=5)
    device.publish(EVENT_TOPIC, b"first")
    device.publish(EVENT_TOPIC, b"second")
    assert inbox.get() == (EVENT_TOPIC, b"second")


def test_acl_refuses_device_commands_and_impersonation(
    broker: Broker, station: StationMqtt, device: Device, open_clients: Callable[[StationMqtt | Device], None]
) -> None:
    inbox = Inbox()
    station.on_agent_message(inbox)
    device.subscribe(ZONE_TOPIC)
    # Mosquitto answers a v5 client's forbidden publish with "Not authorized" and drops it.
    assert device.publish(ZONE_TOPIC, b"forged command").is_failure
    assert device.publish(protocol.device_event_topic("loa-02"), b"forged report").is_failure
    station.publish(ZONE_TOPIC, b"real command", expiry_s=60)
    device.publish(EVENT_TOPIC, b"real report")
    assert device.messages.get(timeout=5).payload == b"real command"
    assert inbox.get() == (EVENT_TOPIC, b"real report")
    time.sleep(0.2)
    assert device.messages.empty()
    assert inbox.items.empty()


def test_wrong_password_raises_at_start(broker: Broker) -> None:
    client = StationMqtt(broker.station_target(password="not-the-password"))
    started = time.monotonic()
    with pytest.raises(MqttError, match="refused user 'station'"):
        client.start(timeout=5)
    assert time.monotonic() - started < 3
    assert not client.connected


def test_station_gets_reports_sent_while_it_was_away(
    broker: Broker, device: Device, open_clients: Callable[[StationMqtt | Device], None]
) -> None:
    first = StationMqtt(broker.station_target())
    open_clients(first)
    first.start(timeout=5)
    first.stop()
    device.publish(EVENT_TOPIC, b"played while the station was down")

    inbox = Inbox()
    second = StationMqtt(broker.station_target())
    open_clients(second)
    second.on_agent_message(inbox)
    second.start(timeout=5)
    assert inbox.get() == (EVENT_TOPIC, b"played while the station was down")


def test_expired_command_is_not_delivered_to_a_device_that_comes_back_late(
    broker: Broker, station: StationMqtt, open_clients: Callable[[StationMqtt | Device], None]
) -> None:
    before = Device(broker, persistent=True)
    open_clients(before)
    before.connect().subscribe(ZONE_TOPIC)
    before.close()
    station.publish(ZONE_TOPIC, b"stale alert", expiry_s=1)
    station.publish(ZONE_TOPIC, b"fresh command", expiry_s=60)
    time.sleep(2.1)
    after = Device(broker, persistent=True)
    open_clients(after)
    after.connect()
    assert after.messages.get(timeout=5).payload == b"fresh command"
    time.sleep(0.2)
    assert after.messages.empty()


def test_publish_needs_a_connection(broker: Broker, station: StationMqtt) -> None:
    idle = StationMqtt(broker.station_target())
    with pytest.raises(MqttError, match="not connected"):
        idle.publish(ZONE_TOPIC, b"x", expiry_s=10)
    with pytest.raises(ValueError, match="expiry_s"):
        station.publish(ZONE_TOPIC, b"x", expiry_s=0)


def test_station_reconnects_after_a_broker_crash(
    broker: Broker, station: StationMqtt, device: Device
) -> None:
    broker.managed.kill()  # the supervisor restarts it within about a second
    deadline = time.monotonic() + 10
    while station.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    while not station.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert station.connected
    station.publish(ZONE_TOPIC, b"after the crash", expiry_s=60)


def test_publish_refused_by_the_acl_raises(station: StationMqtt) -> None:
    with pytest.raises(MqttError, match="refused publish to elsewhere/cmd: Not authorized"):
        station.publish("elsewhere/cmd", b"x", expiry_s=10)
    station.publish(ZONE_TOPIC, b"still connected", expiry_s=10)
