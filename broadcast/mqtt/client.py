"""The station's MQTT client (the one server-side paho module): publish commands, receive agent reports."""

from __future__ import annotations

import logging
import math
import queue
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from broadcast import protocol
from broadcast.mqtt.credentials import STATION_USER
from broadcast.mqtt.target import MqttTarget, parse_mqtt_url

__all__ = [
    "MqttError",
    "MqttTarget",
    "StationMqtt",
    "agent_subscriptions",
    "parse_mqtt_url",
]

log = logging.getLogger(__name__)

AgentCallback = Callable[[str, bytes], None]

# Agent reports sent while the station is down wait this long at the broker for it to come back.
DEFAULT_SESSION_EXPIRY_S = 7 * 24 * 3600
# A member of a shared group keeps its session only this long: Mosquitto goes on queueing a share of the
# group's messages for an offline member, so a worker that never comes back would hold its share for
# the whole expiry. Five minutes covers a restart; past it the other members get everything.
SHARED_SESSION_EXPIRY_S = 300


def agent_subscriptions(shared_group: str | None = None) -> list[str]:
    """Return the topic filters of agent status and events, as an MQTT 5 shared subscription if grouped."""
    topics = [protocol.STATUS_SUBSCRIPTION, protocol.EVENT_SUBSCRIPTION]
    if shared_group is None:
        return topics
    # The share name may not hold "/", "+" or "#" (MQTT 5, 4.8.2).
    if not protocol.is_identifier(shared_group):
        raise ValueError(f"invalid shared subscription group {shared_group!r}")
    return [f"$share/{shared_group}/{topic}" for topic in topics]


def _properties(packet_type: int, **values: int) -> Properties:
    """Return MQTT v5 properties for one packet type (paho leaves the constructor untyped)."""
    properties = Properties(packet_type)  # type: ignore[no-untyped-call]
    for name, value in values.items():
        setattr(properties, name, value)
    return properties


class MqttError(RuntimeError):
    """The broker refused the station, could not be reached, or did not acknowledge a publish."""


class StationMqtt:
    """One persistent MQTT v5 session of the station: QoS1 publishes and a queue of agent messages.

    With `shared_group`, several station workers (each under its own broker account, station-<n>)
    subscribe as one MQTT 5 shared subscription: each agent message goes to exactly one of them.
    """

    def __init__(
        self,
        target: MqttTarget,
        *,
        session_expiry_s: int | None = None,
        keepalive_s: int = 30,
        shared_group: str | None = None,
    ) -> None:
        self.target = target
        self.subscriptions = agent_subscriptions(shared_group)
        if session_expiry_s is None:
            session_expiry_s = DEFAULT_SESSION_EXPIRY_S if shared_group is None else SHARED_SESSION_EXPIRY_S
        self._session_expiry_s = session_expiry_s
        self._keepalive_s = keepalive_s
        # The broker runs with use_username_as_clientid; the same id keeps the same session.
        self._client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=target.username or STATION_USER,
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        if target.username is not None:
            self._client.username_pw_set(target.username, target.password)
        if target.tls:
            self._client.tls_set(ca_certs=target.ca_file)
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_publish = self._on_publish
        self._client.on_message = self._on_message
        self._connected = threading.Event()
        self._answered = threading.Event()  # first CONNACK (refused) or SUBACK (ready) seen
        self._refusal: str | None = None
        self._lock = threading.Lock()
        self._publish_failures: dict[int, str] = {}
        self._inbox: queue.SimpleQueue[tuple[str, bytes] | None] = queue.SimpleQueue()  # None: stop
        self._callback: AgentCallback | None = None
        self._consumer: threading.Thread | None = None
        self._stopping = False

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def on_agent_message(self, callback: AgentCallback) -> None:
        """Call callback(topic, payload) for every status/event message (register before start)."""
        self._callback = callback

    def start(self, timeout: float = 10.0) -> None:
        """Connect, subscribe to agent topics and return; raise MqttError if refused or unreachable."""
        properties = _properties(PacketTypes.CONNECT, SessionExpiryInterval=self._session_expiry_s)
        self._consumer = threading.Thread(target=self._consume, name="station-mqtt-inbox", daemon=True)
        self._consumer.start()
        self._client.connect_async(
            self.target.host,
            self.target.port,
            keepalive=self._keepalive_s,
            clean_start=False,
            properties=properties,
        )
        self._client.loop_start()
        where = f"{self.target.host}:{self.target.port}"
        if not self._answered.wait(timeout):
            self.stop()
            raise MqttError(f"MQTT broker at {where} unreachable or silent for {timeout:g} s")
        if self._refusal is not None:
            self.stop()
            raise MqttError(f"MQTT broker at {where} refused user {self.target.username!r}: {self._refusal}")

    def publish(
        self, topic: str, payload: bytes, *, expiry_s: float, retain: bool = False, wait: float = 5.0
    ) -> None:
        """Publish QoS1 with a message expiry and wait for the broker's PUBACK, or raise MqttError.

        After a timeout paho may still deliver the message later; agents de-duplicate by command id.
        """
        if expiry_s <= 0:
            raise ValueError("expiry_s must be positive")
        if not self.connected:
            raise MqttError(f"not connected to the MQTT broker; {topic} not published")
        properties = _properties(PacketTypes.PUBLISH, MessageExpiryInterval=math.ceil(expiry_s))
        info = self._client.publish(topic, payload, qos=1, retain=retain, properties=properties)
        try:
            info.wait_for_publish(wait)
        except (RuntimeError, ValueError) as exc:
            raise MqttError(f"publish to {topic} failed: {exc}") from exc
        if not info.is_published():
            raise MqttError(f"no PUBACK for {topic} within {wait:g} s")
        with self._lock:
            failure = self._publish_failures.pop(info.mid, None)
        if failure is not None:
            raise MqttError(f"broker refused publish to {topic}: {failure}")

    def stop(self) -> None:
        """Disconnect (the session and its queued agent reports stay at the broker) and stop threads."""
        if self._stopping:
            return
        self._stopping = True
        self._client.disconnect()
        self._client.loop_stop()
        self._connected.clear()
        self._inbox.put(None)
        if self._consumer is not None:
            self._consumer.join(timeout=5)

    # --- paho callbacks (network thread): record state and hand off, never do work here --------------

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: mqtt.ConnectFlags, reason: ReasonCode, props: Any
    ) -> None:
        if reason.is_failure:
            log.error("MQTT broker refused the station: %s", reason)
            self._refusal = str(reason)
            self._answered.set()
            return
        log.info("connected to MQTT broker (session present: %s)", flags.session_present)
        self._connected.set()
        # Subscribing on every connect also covers a session the broker expired or lost.
        options = SubscribeOptions(qos=1)
        client.subscribe([(topic, options) for topic in self.subscriptions])

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, reasons: list[ReasonCode], props: Any
    ) -> None:
        for reason in reasons:
            if reason.is_failure:
                log.error("MQTT broker refused a station subscription: %s", reason)
        self._answered.set()

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: mqtt.DisconnectFlags, reason: ReasonCode, props: Any
    ) -> None:
        was_connected = self._connected.is_set()
        self._connected.clear()
        if was_connected and not self._stopping:
            log.warning("lost the MQTT broker (%s); reconnecting", reason)

    def _on_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, reason: ReasonCode, props: Any
    ) -> None:
        if reason.is_failure:
            with self._lock:
                self._publish_failures[mid] = str(reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._inbox.put((message.topic, bytes(message.payload)))

    # --- consumer thread ------------------------------------------------------------------------------

    def _consume(self) -> None:
        while True:
            item = self._inbox.get()
            if item is None:
                return
            topic, payload = item
            callback = self._callback
            if callback is None:
                log.warning("agent message on %s dropped: no handler registered", topic)
                continue
            try:
                callback(topic, payload)
            except Exception:
                log.exception("agent message handler failed on %s", topic)
