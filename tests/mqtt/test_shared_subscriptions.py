"""Several station workers share agent ingest through an MQTT 5 shared subscription (real Mosquitto)."""

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
from paho.mqtt.reasoncodes import ReasonCode

from broadcast import protocol
from broadcast.mqtt.broker import BrokerConfig, ManagedBroker, write_credentials
from broadcast.mqtt.client import MqttError, MqttTarget, StationMqtt, agent_subscriptions
from broadcast.mqtt.credentials import (
    DeviceCredential,
    hash_password,
    new_password,
    render_passwd,
    station_worker_user,
)
from tests.support.free_port import free_port
from tests.support.station import wait_until

DEVICES = ("loa-01", "loa-02")
GROUP = "station"


@dataclass(frozen=True)
class Broker:
    port: int
    station_password: str
    device_passwords: dict[str, str]

    def worker(self, n: int) -> MqttTarget:
        return MqttTarget("127.0.0.1", self.port, station_worker_user(n), self.station_password)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    config = BrokerConfig(directory=tmp_path / "mosquitto", port=free_port())
    station_password = new_password()
    passwords = {device: new_password() for device in DEVICES}
    credentials = [DeviceCredential(d, hash_password(p), ("xom-1",)) for d, p in passwords.items()]
    write_credentials(config, hash_password(station_password), credentials, station_workers=2)
    managed = ManagedBroker(config)
    managed.start()
    yield Broker(config.port, station_password, passwords)
    managed.stop()


class Inbox:
    """What one worker received."""

    def __init__(self) -> None:
        self.items: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()

    def __call__(self, topic: str, payload: bytes) -> None:
        with self._lock:
            self.items.append((topic, payload))

    def payloads(self) -> set[bytes]:
        with self._lock:
            return {payload for _, payload in self.items}


@pytest.fixture
def workers(broker: Broker) -> Iterator[Callable[..., tuple[StationMqtt, Inbox]]]:
    started: list[StationMqtt] = []

    def start(n: int, session_expiry_s: int | None = None) -> tuple[StationMqtt, Inbox]:
        inbox = Inbox()
        client = StationMqtt(broker.worker(n), shared_group=GROUP, session_expiry_s=session_expiry_s)
        client.on_agent_message(inbox)
        started.append(client)
        client.start(timeout=5)
        return client, inbox

    yield start
    for client in started:
        client.stop()


class Agent:
    """A plain paho client publishing QoS1 reports as a device."""

    def __init__(self, broker: Broker, device_id: str) -> None:
        self.device_id = device_id
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=device_id, protocol=MQTTProtocolVersion.MQTTv5
        )
        self.client.username_pw_set(device_id, broker.device_passwords[device_id])
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()

    def report(self, count: int, tag: str) -> set[bytes]:
        sent = set()
        for i in range(count):
            payload = f"{self.device_id}:{tag}:{i}".encode()
            topic = protocol.device_status_topic(self.device_id) if i % 2 else self.event_topic
            self.client.publish(topic, payload, qos=1).wait_for_publish(5)
            sent.add(payload)
        return sent

    @property
    def event_topic(self) -> str:
        return protocol.device_event_topic(self.device_id)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def agents(broker: Broker) -> Iterator[list[Agent]]:
    made = [Agent(broker, device) for device in DEVICES]
    yield made
    for agent in made:
        agent.close()


def test_subscription_filters() -> None:
    assert agent_subscriptions() == [protocol.STATUS_SUBSCRIPTION, protocol.EVENT_SUBSCRIPTION]
    assert agent_subscriptions("station") == [
        "$share/station/loa/v1/dev/+/status",
        "$share/station/loa/v1/dev/+/event",
    ]
    for bad in ("a/b", "a+", "#", ""):
        with pytest.raises(ValueError, match="shared subscription group"):
            agent_subscriptions(bad)


def test_worker_accounts_share_the_station_password_and_devices_cannot_take_them() -> None:
    passwd = render_passwd("H", [], station_workers=2)
    assert passwd == "station:H\nstation-1:H\nstation-2:H\n"
    with pytest.raises(ValueError, match="invalid device id"):
        render_passwd("H", [DeviceCredential("station-3", "h", ("a",))])


def test_two_workers_each_get_a_disjoint_share_and_together_all(
    workers: Callable[..., tuple[StationMqtt, Inbox]], agents: list[Agent]
) -> None:
    _, first = workers(1)
    _, second = workers(2)
    sent = set().union(*(agent.report(40, "a") for agent in agents))
    assert wait_until(lambda: len(first.payloads() | second.payloads()) == len(sent), 10)
    time.sleep(0.3)  # a message delivered twice would arrive by now
    assert first.payloads() | second.payloads() == sent
    assert not first.payloads() & second.payloads()
    assert len(first.items) + len(second.items) == len(sent)
    assert len(first.items) >= len(sent) // 4 and len(second.items) >= len(sent) // 4  # both share it


def test_a_restarted_worker_gets_the_share_queued_while_it_was_away(
    workers: Callable[..., tuple[StationMqtt, Inbox]], agents: list[Agent]
) -> None:
    _, first = workers(1)
    away, _ = workers(2)
    away.stop()
    sent = agents[0].report(20, "b")
    _, back = workers(2)
    assert wait_until(lambda: first.payloads() | back.payloads() == sent, 10)
    assert not first.payloads() & back.payloads()


def test_a_worker_gone_for_good_stops_taking_a_share_once_its_session_expires(
    workers: Callable[..., tuple[StationMqtt, Inbox]], agents: list[Agent]
) -> None:
    _, first = workers(1, session_expiry_s=1)
    gone, _ = workers(2, session_expiry_s=1)
    gone.stop()
    time.sleep(2.0)
    sent = agents[0].report(20, "c")
    assert wait_until(lambda: first.payloads() == sent, 10)


def test_an_unknown_worker_account_is_refused(broker: Broker) -> None:
    with pytest.raises(MqttError, match="refused user 'station-3'"):
        StationMqtt(broker.worker(3), shared_group=GROUP).start(timeout=5)


def test_two_workers_under_one_account_throw_each_other_off(broker: Broker) -> None:
    """Why every worker needs its own account: the broker uses the username as the client id."""
    reasons: queue.Queue[ReasonCode] = queue.Queue()
    first = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    first.username_pw_set("station-1", broker.station_password)
    first.on_disconnect = lambda c, u, flags, reason, p: reasons.put(reason)
    first.connect("127.0.0.1", broker.port)
    first.loop_start()
    second = StationMqtt(broker.worker(1), shared_group=GROUP)
    try:
        second.start(timeout=5)
        # Mosquitto 2.0 just closes the older connection; paho reports that as an unspecified error.
        assert reasons.get(timeout=5).is_failure
    finally:
        first.loop_stop()
        first.disconnect()
        second.stop()
