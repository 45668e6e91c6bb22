"""A managed broker set up exactly as `broadcast serve` sets it up (TLS on), and probe clients for it."""

from __future__ import annotations

import queue
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from broadcast.config import Settings
from broadcast.fleet import devices
from broadcast.mqtt.broker import ManagedBroker
from broadcast.mqtt.credentials import STATION_USER
from broadcast.signing.keys import StationKeys
from broadcast.storage.db import Database, migrate
from edge_agent.config import AgentConfig, load_config
from edge_agent.transport import tls_context
from tests.support.free_port import free_port


@dataclass
class BrokerStation:
    """The station's data dir, database and managed broker, without the web side."""

    root: Path
    settings: Settings
    db: Database
    broker: ManagedBroker
    agents: dict[str, AgentConfig] = field(default_factory=dict)

    @property
    def station_password(self) -> str:
        return StationKeys(self.settings.secrets_dir).broker_password()

    def enrol(self, device_id: str, zone: str, *, replace: bool = False) -> AgentConfig:
        """Enrol a device as `broadcast device add` does; keep and return its agent config."""
        with self.db.session() as session:
            enrolment = devices.add_device(
                session,
                self.settings.broker,
                device_id,
                zone,
                Path(f"state-{device_id}"),
                f"file:plays-{device_id}",
                "test",
                replace=replace,
            )
        path = self.root / f"{device_id}.toml"
        path.write_text(enrolment.agent_toml, encoding="utf-8")
        self.agents[device_id] = load_config(path)
        return self.agents[device_id]

    def station(self) -> Probe:
        """Return a connected client on the station's own (loopback, plain) listener."""
        probe = Probe(STATION_USER, STATION_USER, self.station_password)
        assert probe.connect("127.0.0.1", self.settings.mqtt_port) is None
        return probe

    def device(self, device_id: str, *, client_id: str | None = None, persistent: bool = False) -> Probe:
        """Return a connected client logged in with `device_id`'s enrolled credentials over TLS."""
        config = self.agents[device_id]
        probe = Probe(
            client_id or device_id, config.mqtt_username, config.mqtt_password, persistent=persistent
        )
        refusal = probe.connect(config.mqtt_host, config.mqtt_port, tls_context(config))
        assert refusal is None, refusal
        return probe

    def stop(self) -> None:
        self.broker.stop()
        self.db.dispose()


def start_broker_station(root: Path) -> BrokerStation:
    """Create a data dir with the embedded defaults (TLS on) and start its managed broker."""
    settings = Settings(  # type: ignore[call-arg,unused-ignore]  # no pydantic mypy plugin for settings
        data_dir=root / "var",
        mqtt_port=free_port(),
        mqtt_tls_port=free_port(),
        public_url="http://127.0.0.1:1",
    )
    settings.data_dir.mkdir(parents=True)
    migrate(settings.database)
    db = Database(settings.database)
    with db.session() as session:
        devices.sync_broker_credentials(session, settings.broker)
    broker = ManagedBroker(devices.broker_config(settings.broker))
    broker.start()
    return BrokerStation(root, settings, db, broker)


class Probe:
    """A bare paho MQTT v5 client that records what the broker answers and delivers."""

    def __init__(
        self, client_id: str, username: str | None, password: str | None, *, persistent: bool = False
    ):
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.disconnected = threading.Event()
        self.session_present: bool | None = None
        self._persistent = persistent
        self._connack: queue.Queue[ReasonCode] = queue.Queue()
        self._subacks: queue.Queue[list[ReasonCode]] = queue.Queue()
        self._pubacks: queue.Queue[ReasonCode] = queue.Queue()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
        )
        if username is not None:
            client.username_pw_set(username, password)
        client.on_connect = self._on_connect
        client.on_disconnect = lambda c, u, flags, reason, props: self.disconnected.set()
        client.on_subscribe = lambda c, u, mid, reasons, props: self._subacks.put(list(reasons))
        client.on_publish = lambda c, u, mid, reason, props: self._pubacks.put(reason)
        client.on_message = lambda c, u, message: self.messages.put(message)
        self.client = client

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        props: object,
    ) -> None:
        self.session_present = flags.session_present
        self._connack.put(reason)

    def connect(self, host: str, port: int, context: ssl.SSLContext | None = None) -> str | None:
        """Connect once (no automatic reconnect); return None if accepted, else the refusal or error."""
        if context is not None:
            self.client.tls_set_context(context)
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = 3600 if self._persistent else 0
        try:
            self.client.connect(
                host, port, keepalive=10, clean_start=not self._persistent, properties=properties
            )
        except (OSError, ssl.SSLError) as exc:
            return f"{type(exc).__name__}: {exc}"
        self.disconnected.clear()
        # Drive the network by hand until the broker answers: a refused client then has no loop thread
        # to wind down (paho's would sleep a reconnect delay first).
        deadline = time.monotonic() + 5
        while self._connack.empty() and not self.disconnected.is_set() and time.monotonic() < deadline:
            self.client.loop(timeout=0.05)
        if self._connack.empty():
            self.client.disconnect()
            return "no CONNACK (connection dropped)"
        reason = self._connack.get()
        if reason.is_failure:
            self.client.disconnect()
            return str(reason)
        self.client.loop_start()
        return None

    def subscribe(self, *topics: str) -> list[ReasonCode]:
        self.client.subscribe([(topic, 1) for topic in topics])
        return self._subacks.get(timeout=5)

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> ReasonCode:
        """Publish QoS 1 and return the broker's PUBACK reason code."""
        self.client.publish(topic, payload, qos=1, retain=retain)
        return self._pubacks.get(timeout=5)

    def received(self, wait: float = 0.5) -> list[tuple[str, bytes]]:
        """Return what arrived within `wait` seconds (after anything already queued)."""
        out: list[tuple[str, bytes]] = []
        try:
            while True:
                message = self.messages.get(timeout=wait)
                out.append((message.topic, bytes(message.payload)))
        except queue.Empty:
            return out

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
