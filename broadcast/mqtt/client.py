"""The station's MQTT client (the one server-side paho module): publish commands, receive agent reports."""

from __future__ import annotations

import json
import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from broadcast import metrics, protocol
from broadcast.mqtt.credentials import STATION_USER
from broadcast.mqtt.report_guard import Lane, ReportGuard, device_of
from broadcast.mqtt.target import MqttTarget, parse_mqtt_url
from broadcast.protocol.backoff import RECONNECT, Backoff

__all__ = [
    "MqttAckTimeout",
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
# Reports waiting for a consumer, per lane. Past this the newest are dropped (and counted): a backlog
# this deep is a flood, and a longer one would only hold memory and make every report later.
NORMAL_QUEUE = 5_000
URGENT_QUEUE = 5_000
URGENT_MARGIN_S = 600.0  # acks of an alert or cancel stay urgent this long past its expiry
_URGENT_KINDS = (b'"kind":"alert"', b'"kind":"alert_speech"', b'"kind":"cancel"')


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


class MqttAckTimeout(MqttError):
    """A publish handed to the session was not acknowledged in time: it stays queued and goes out (QoS 1,
    kept across reconnects) once the link drains; only the wait for the broker's PUBACK gave up."""


class StationMqtt:
    """One persistent MQTT v5 session of the station: QoS1 publishes and two lanes of agent messages.

    With `shared_group`, several station workers (each under its own broker account, station-<n>)
    subscribe as one MQTT 5 shared subscription: each agent message goes to exactly one of them.
    Each message passes `guard` first (a rate per device); acks of alerts and cancels then go to the
    urgent lane, everything else to the normal one, each with its own consumer thread.
    """

    def __init__(
        self,
        target: MqttTarget,
        *,
        session_expiry_s: int | None = None,
        keepalive_s: int = 30,
        shared_group: str | None = None,
        guard: ReportGuard | None = None,
        normal_queue: int = NORMAL_QUEUE,
    ) -> None:
        self.target = target
        self.guard = guard or ReportGuard()
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
        # The agents' back-off (jittered, at most 5 s): after a broker restart an alert can go out
        # within seconds, and station workers sharing a group do not return in lock-step.
        self._backoff = Backoff()
        self._client.reconnect_delay_set(min_delay=RECONNECT.base_s, max_delay=RECONNECT.cap_s)  # type: ignore[arg-type]
        self._client.on_connect = self._on_connect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_publish = self._on_publish
        self._client.on_message = self._on_message
        self._connected = threading.Event()
        self._answered = threading.Event()  # first CONNACK (refused) or SUBACK (ready) seen
        self._refusal: str | None = None
        self._lock = threading.Lock()
        self._publish_failures: dict[int, str] = {}
        self._lanes: dict[Lane, queue.Queue[tuple[str, bytes] | None]] = {  # None: stop
            "urgent": queue.Queue(URGENT_QUEUE),
            "normal": queue.Queue(normal_queue),
        }
        metrics.report_lanes_empty(self._lanes)
        self._callback: AgentCallback | None = None
        self._consumers: list[threading.Thread] = []
        self._abandon = False  # set on stop when a lane is too full to take the stop marker
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
        self.start_consumers()
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

    def start_consumers(self) -> None:
        """Start one consumer thread per lane (start() does; the lanes' tests call it alone)."""
        for lane in self._lanes:
            consumer = threading.Thread(
                target=self._consume, args=(lane,), name=f"station-mqtt-{lane}", daemon=True
            )
            consumer.start()
            self._consumers.append(consumer)

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
        self._note_urgent(payload)  # before publishing: the first ack may come back at once
        properties = _properties(PacketTypes.PUBLISH, MessageExpiryInterval=math.ceil(expiry_s))
        info = self._client.publish(topic, payload, qos=1, retain=retain, properties=properties)
        try:
            info.wait_for_publish(wait)
        except (RuntimeError, ValueError) as exc:
            raise MqttError(f"publish to {topic} failed: {exc}") from exc
        if not info.is_published():
            raise MqttAckTimeout(f"no PUBACK for {topic} within {wait:g} s")
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
        for lane in self._lanes.values():
            try:
                lane.put(None, timeout=1.0)
            except queue.Full:  # a flooded lane: its backlog is left, its consumer ends after this report
                self._abandon = True
        for consumer in self._consumers:
            consumer.join(timeout=5)

    def queue_depths(self) -> dict[Lane, int]:
        """Return how many reports wait in each lane (for /metrics)."""
        return {name: lane.qsize() for name, lane in self._lanes.items()}

    def _note_urgent(self, payload: bytes) -> None:
        """Remember the id of an alert, its speech or a cancel being published: its acks go urgent."""
        if not any(kind in payload for kind in _URGENT_KINDS):
            return
        try:
            body = json.loads(payload)
        except ValueError:
            return
        if not isinstance(body, dict) or body.get("kind") not in ("alert", "alert_speech", "cancel"):
            return
        expires_at = body.get("expires_at")
        until = expires_at if isinstance(expires_at, int | float) else time.time()
        if isinstance(body.get("id"), str):
            self.guard.urgent.remember(body["id"], float(until) + URGENT_MARGIN_S)

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
        self._backoff.connected(time.monotonic())
        self._connected.set()
        metrics.mqtt_link(True)
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
        metrics.mqtt_link(False)
        self._backoff.disconnected(time.monotonic())
        self._retry_after(self._backoff.next_delay())
        if was_connected and not self._stopping:
            log.warning("lost the MQTT broker (%s); reconnecting", reason)

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        self._retry_after(self._backoff.next_delay())

    def _retry_after(self, delay_s: float) -> None:
        """Make paho's next reconnect wait exactly delay_s (as edge_agent/transport.py: paho has no jitter).

        Both callbacks that precede paho's wait set min = max = the draw (a wait without either stays
        within [base, cap]); its wait is float arithmetic, its type hints say int only.
        """
        self._client.reconnect_delay_set(min_delay=delay_s, max_delay=delay_s)  # type: ignore[arg-type]

    def _on_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, reason: ReasonCode, props: Any
    ) -> None:
        if reason.is_failure:
            with self._lock:
                self._publish_failures[mid] = str(reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.offer(message.topic, bytes(message.payload))

    def offer(self, topic: str, payload: bytes) -> bool:
        """Queue one agent message on its lane; False if dropped (over its device's rate, lane full).

        Runs on paho's network thread: a topic split, a bucket and a byte search, never a parse.
        """
        device_id = device_of(topic) or "?"  # only device topics are subscribed; ingest rejects others
        if not self.guard.admit(device_id):
            return False
        lane = self.guard.lane(payload)
        metrics.report_queued(lane, 1)  # before the put: its consumer may take it at once
        try:
            self._lanes[lane].put_nowait((topic, payload))
        except queue.Full:
            metrics.report_queued(lane, -1)
            self.guard.ledger.drop(device_id, "queue")
            return False
        return True

    # --- consumer thread ------------------------------------------------------------------------------

    def _consume(self, lane: Lane) -> None:
        inbox = self._lanes[lane]
        while True:
            item = inbox.get()
            if item is None or self._abandon:
                return
            metrics.report_queued(lane, -1)
            topic, payload = item
            callback = self._callback
            if callback is None:
                log.warning("agent message on %s dropped: no handler registered", topic)
                continue
            try:
                callback(topic, payload)
            except Exception:
                log.exception("agent message handler failed on %s", topic)
            metrics.agent_message_taken()  # counted once applied
