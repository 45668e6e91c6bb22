"""The agent's MQTT link (the only module that imports paho): persistent session, status, events."""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from broadcast import protocol
from broadcast.protocol.backoff import RECONNECT, Backoff
from edge_agent.config import AgentConfig

log = logging.getLogger(__name__)

# Commands queued while the Pi is offline are kept this long by the broker (message expiry still applies).
SESSION_EXPIRY_S = 7 * 24 * 3600
# The broker fires the agent's will (the station then shows it offline) 1.5 x this after the last packet it
# got, so a lost link shows within 30 s. Each keepalive is a PINGREQ/PINGRESP over TLS, ~0.26 kB of IP
# traffic: 20 s instead of 30 s costs ~8 MB a month on a 4G SIM; the heartbeat is most of the idle
# traffic (bench/link_cost.py).
KEEPALIVE_S = 20


def tls_context(config: AgentConfig) -> ssl.SSLContext:
    """Return the TLS settings for the broker: its certificate must chain to the pinned CA and name the host.

    Without a pinned CA the system store decides (an external broker with a public certificate).
    """
    context = ssl.create_default_context(cadata=config.mqtt_ca_pem or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context  # create_default_context: CERT_REQUIRED and check_hostname


@dataclass(frozen=True)
class Inbound:
    """One received message, exactly as it came off the wire."""

    topic: str
    payload: bytes


class MqttTransport:
    """Connect as the device, keep the session across reconnects, hand messages to a queue."""

    def __init__(
        self,
        config: AgentConfig,
        inbox: queue.Queue[Inbound],
        version: str = "",
        keepalive_s: int = KEEPALIVE_S,
    ) -> None:
        self.config = config
        self.inbox = inbox
        self.version = version
        self.keepalive_s = keepalive_s
        self._stopping = False
        # Set once subscribed and "online" is announced; cleared while the link is down.
        self.connected = threading.Event()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=config.device_id,
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        client.username_pw_set(config.mqtt_username, config.mqtt_password)
        if config.mqtt_tls:
            client.tls_set_context(tls_context(config))
        client.will_set(
            protocol.device_status_topic(config.device_id),
            protocol.encode_agent_message(self._status("offline", will=True)),
            qos=1,
            retain=True,
        )
        # Each wait before a reconnect attempt is drawn from the shared back-off (jittered, at most 5 s)
        # and handed to paho just before it waits: see _retry_after. Until the first draw, paho's own
        # doubling is kept within the same bounds (its defaults would go up to 120 s).
        self._backoff = Backoff()
        client.reconnect_delay_set(min_delay=RECONNECT.base_s, max_delay=RECONNECT.cap_s)  # type: ignore[arg-type]
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        self._client = client
        self._acks: queue.SimpleQueue[int] = queue.SimpleQueue()

    def start(self) -> None:
        """Connect in the background; paho's loop thread reconnects with backoff for ever."""
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho leaves it untyped
        properties.SessionExpiryInterval = SESSION_EXPIRY_S
        self._client.connect_async(
            self.config.mqtt_host,
            self.config.mqtt_port,
            keepalive=self.keepalive_s,
            clean_start=False,
            properties=properties,
        )
        self._client.loop_start()

    def publish_report(self, payload: bytes) -> int | None:
        """Publish a report QoS1 on the event topic; return its message id (see take_acks), or None."""
        info = self._client.publish(protocol.device_event_topic(self.config.device_id), payload, qos=1)
        if info.rc == mqtt.MQTT_ERR_SUCCESS:
            return info.mid
        if info.rc != mqtt.MQTT_ERR_NO_CONN:
            log.warning("could not queue a report: %s", mqtt.error_string(info.rc))
        # Not connected: paho would hold it, but the outbox already does, and resends it on reconnect.
        return None

    def take_acks(self) -> list[int]:
        """Return the ids of the messages the broker acknowledged since the last call."""
        acks = []
        while True:
            try:
                acks.append(self._acks.get_nowait())
            except queue.Empty:
                return acks

    def publish_heartbeat(self, message: protocol.Heartbeat) -> bool:
        """Publish a heartbeat at QoS 0 if connected; return False if it was dropped (link down)."""
        # Not queued while offline: a backlog of stale heartbeats would only hide the current state.
        if not self.connected.is_set():
            return False
        info = self._client.publish(
            protocol.device_event_topic(self.config.device_id), protocol.encode_agent_message(message), qos=0
        )
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    def is_alive(self) -> bool:
        """Return True while paho's network thread runs (it reconnects by itself while it does)."""
        thread = self._client._thread  # paho keeps its loop thread private
        return thread is not None and thread.is_alive()

    def stop(self, timeout: float = 3.0) -> None:
        """Publish offline status (a clean disconnect does not fire the will), then disconnect."""
        self._stopping = True
        if self._client.is_connected():
            info = self._client.publish(
                protocol.device_status_topic(self.config.device_id),
                protocol.encode_agent_message(self._status("offline")),
                qos=1,
                retain=True,
            )
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError) as exc:
                log.warning("offline status not confirmed: %s", exc)
        self._client.disconnect()
        self._client.loop_stop()

    def _status(self, state: Literal["online", "offline"], will: bool = False) -> protocol.DeviceStatus:
        return protocol.DeviceStatus(
            device_id=self.config.device_id,
            state=state,
            zone=",".join(self.config.zones),
            version=self.version,
            ts=time.time(),
            will=will,  # the station orders statuses by ts, except a will, whose ts is when it was set
        )

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            log.error("broker refused connection: %s", reason_code)
            return
        self._backoff.connected(time.monotonic())
        log.info(
            "connected to %s:%s (session %s)",
            self.config.mqtt_host,
            self.config.mqtt_port,
            "resumed" if flags.session_present else "new",
        )
        # Subscriptions live in the persistent session, but zones may have changed since: renew them.
        # The station's key update first: its retained copy then comes before the programmes it vouches for.
        topics = [protocol.KEYS_TOPIC, protocol.device_command_topic(self.config.device_id)]
        topics += [protocol.zone_command_topic(zone) for zone in self.config.zones]
        # Retained: each (re)subscription brings the zone's current programme.
        topics += [protocol.zone_programme_topic(zone) for zone in self.config.zones]
        client.subscribe([(topic, SubscribeOptions(qos=1)) for topic in topics])

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        refused = [str(code) for code in reason_codes if code.is_failure]
        if refused:
            log.error("subscriptions refused (ACL for %s?): %s", self.config.device_id, refused)
        # "online" is announced only now, so a station that sees it can publish without losing the command.
        client.publish(
            protocol.device_status_topic(self.config.device_id),
            protocol.encode_agent_message(self._status("online")),
            qos=1,
            retain=True,
        )
        self.connected.set()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self.connected.clear()
        self._backoff.disconnected(time.monotonic())
        self._retry_after(self._backoff.next_delay())
        if self._stopping:
            log.info("disconnected from broker")
        else:
            log.warning("disconnected from broker (reconnecting): %s", reason_code)

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        # The connection attempt itself failed (refused, timed out, TLS): paho waits again, then retries.
        self._retry_after(self._backoff.next_delay())

    def _retry_after(self, delay_s: float) -> None:
        """Make paho's next reconnect wait exactly delay_s.

        paho (2.x) has no jitter of its own: before each attempt its loop thread calls _reconnect_wait,
        which waits min_delay after reconnect_delay_set() (that call forgets its doubling) and else twice
        the last wait, at most max_delay. Both callbacks that precede that wait (on_disconnect after a
        loss, on_connect_fail after a failed attempt) set min = max = the next draw, so every wait is ours.
        paho does wait without either when select() fails on its socket (it then only marks the connection
        lost); such a wait repeats the last draw, or doubles within [base, cap] before any: never past
        the cap.
        paho's wait is float arithmetic (a deadline slept towards in steps of at most 1 s); its type hints
        say int only.
        """
        self._client.reconnect_delay_set(min_delay=delay_s, max_delay=delay_s)  # type: ignore[arg-type]

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        # Runs on paho's network thread holding paho's own lock: hand the id over, never wait here.
        if reason_code.is_failure:
            log.warning("broker refused message %d: %s", mid, reason_code)
        self._acks.put(mid)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        # Runs on paho's network thread: queue only. Verifying, fetching or playing here would stall
        # keepalives and acks for every other message.
        self.inbox.put(Inbound(message.topic, bytes(message.payload)))
