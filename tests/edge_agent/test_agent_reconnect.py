"""Back quickly after an outage: the agent's link and the station's client, against a real Mosquitto.

The broker is stopped until both clients' back-off has reached its cap (so this is the worst case of a
long outage, where paho's old doubling would wait 16-60 s), then started again on the same port: both
must be connected again within the cap plus a generous margin for a loaded machine.
"""

from __future__ import annotations

import dataclasses
import queue
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from broadcast.mqtt.broker import BrokerConfig, ManagedBroker, write_credentials
from broadcast.mqtt.client import MqttTarget, StationMqtt
from broadcast.mqtt.credentials import STATION_USER, DeviceCredential, hash_password, new_password
from broadcast.protocol.backoff import RECONNECT
from edge_agent.config import AgentConfig
from edge_agent.transport import Inbound, MqttTransport
from tests.support.free_port import free_port
from tests.support.station import wait_until

pytestmark = pytest.mark.integration

# Attempts after which every wait is drawn from the full [0, cap) window (0.5, 1, 2, 4, then 5 s).
AT_CAP = next(n for n in range(20) if RECONNECT.window(n) == RECONNECT.cap_s) + 1
# The cap, plus a connect, a TLS-free CONNACK, a SUBACK and the thread wake-ups on two loaded cores.
BACK_WITHIN_S = RECONNECT.cap_s + 7.0


@dataclasses.dataclass
class Setup:
    config: BrokerConfig
    station_password: str
    device_password: str


@pytest.fixture
def broker_files(tmp_path: Path, agent_config: AgentConfig) -> Setup:
    config = BrokerConfig(directory=tmp_path / "mosquitto", port=free_port())
    station_password, device_password = new_password(), new_password()
    device = DeviceCredential(agent_config.device_id, hash_password(device_password), agent_config.zones)
    write_credentials(config, hash_password(station_password), [device])
    return Setup(config, station_password, device_password)


@pytest.fixture
def brokers() -> Iterator[list[ManagedBroker]]:
    started: list[ManagedBroker] = []
    yield started
    for broker in started:
        broker.stop()


def test_agent_and_station_are_back_within_the_cap_after_a_long_outage(
    broker_files: Setup, brokers: list[ManagedBroker], agent_config: AgentConfig
) -> None:
    first = ManagedBroker(broker_files.config)
    brokers.append(first)
    first.start()
    config = dataclasses.replace(
        agent_config, mqtt_port=broker_files.config.port, mqtt_password=broker_files.device_password
    )
    agent = MqttTransport(config, queue.Queue[Inbound]())
    target = MqttTarget("127.0.0.1", broker_files.config.port, STATION_USER, broker_files.station_password)
    station = StationMqtt(target)
    agent.start()
    try:
        station.start(timeout=10)
        assert agent.connected.wait(10), "the agent never connected"

        first.stop()
        assert wait_until(lambda: not agent.connected.is_set() and not station.connected, 10)
        # Down until both back-offs draw from the capped window: every attempt fails, refused.
        reached = wait_until(
            lambda: min(agent._backoff.attempt, station._backoff.attempt) >= AT_CAP, 60, interval=0.1
        )
        assert reached, (agent._backoff.attempt, station._backoff.attempt)
        assert agent.is_alive(), "paho's loop thread gave up"

        back = time.monotonic()  # counted from before the broker starts: its start-up is in the bound
        second = ManagedBroker(broker_files.config)
        brokers.append(second)
        second.start()
        assert agent.connected.wait(BACK_WITHIN_S - (time.monotonic() - back)), "agent not back in time"
        assert wait_until(lambda: station.connected, max(0.1, BACK_WITHIN_S - (time.monotonic() - back)))
    finally:
        agent.stop()
        station.stop()
