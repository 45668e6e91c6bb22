"""One simulated edge agent: the real agent's MQTT session and decision path, with timers for playout.

What runs for real: per-device credentials, an MQTT v5 persistent session, the agent's subscriptions and
online/offline status, `edge_agent.handlers.decide` (Ed25519 verification, parsing, de-duplication,
expiry, zones, clip URL) and `SeenStore` (fsync'd ids). What is simulated: the audio. A play is a
wall-clock deadline met like `edge_agent.playout` (sleep, then spin); its firing instant is the start.
"""

from __future__ import annotations

import random
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from bench.simulator.client import new_client
from bench.simulator.loop import ClientLoop
from bench.simulator.records import RAW_MARK, AgentRecord, AgentSpec, Outcome, WorkerSpec
from broadcast import protocol
from edge_agent.config import AgentConfig
from edge_agent.handlers import Accepted, AcceptedAlert, Rejected, decide
from edge_agent.playout import LATE_TOLERANCE_S
from edge_agent.seen import SeenStore

SESSION_EXPIRY_S = 7 * 24 * 3600  # as edge_agent.transport


class Host(Protocol):
    """What an agent needs from the worker process that hosts it."""

    loop: ClientLoop
    report_plays: bool
    tls: ssl.SSLContext | None  # one context for all agents of a worker (the same pinned CA)

    def receive(self, agent: SimAgent, topic: str, payload: bytes, received: float) -> None: ...

    def record(self, record: AgentRecord) -> None: ...

    def defer(self, action: Callable[[], None]) -> None: ...

    def link_ready(self, agent: SimAgent, error: str | None) -> None: ...

    def link_lost(self, agent: SimAgent) -> None: ...

    def fetch(
        self, agent: SimAgent, command: protocol.PlayCommand, done: Callable[[str | None], None]
    ) -> bool:
        """Start fetching the command's clip unless fetching is off or it is cached; True if started."""
        ...


def _properties(packet_type: int, **values: int) -> Properties:
    properties = Properties(packet_type)  # type: ignore[no-untyped-call]  # paho leaves it untyped
    for name, value in values.items():
        setattr(properties, name, value)
    return properties


class SimAgent:
    """A device's session, subscriptions and message handling, driven by the worker's ClientLoop."""

    def __init__(self, spec: AgentSpec, worker: WorkerSpec, host: Host) -> None:
        self.spec = spec
        self.host = host
        self.state = worker.state_dir / spec.device_id
        self.config = AgentConfig(
            device_id=spec.device_id,
            zones=spec.zones,
            station_url=worker.station_url,
            station_public_key=worker.public_key,
            mqtt_host=worker.host,
            mqtt_port=worker.port,
            mqtt_username=spec.device_id,
            mqtt_password=spec.password,
            mqtt_tls=bool(worker.tls_ca_pem),
            mqtt_ca_pem=worker.tls_ca_pem,
            state_dir=self.state,
        )
        self.seen = SeenStore(self.state / "seen.jsonl")
        self.clips: Path = self.state / "clips"
        self.keepalive_s = worker.keepalive_s
        self.connected = False
        self.ready_once = False
        self.stopping = False
        self.born = time.monotonic()
        self._programme_topics = {protocol.zone_programme_topic(zone) for zone in spec.zones}
        self.client = self._client()

    def _client(self) -> mqtt.Client:
        client = new_client(self.spec.device_id, self.spec.password, self.host.tls)
        client.will_set(
            protocol.device_status_topic(self.spec.device_id), self._status("offline"), qos=1, retain=True
        )
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self.host.loop.attach(client)
        return client

    # --- link ------------------------------------------------------------------------------------------

    def connect(self) -> None:
        """Open the TCP connection and send CONNECT (persistent session); the loop does the rest."""
        properties = _properties(PacketTypes.CONNECT, SessionExpiryInterval=SESSION_EXPIRY_S)
        try:
            self.client.connect(
                self.config.mqtt_host,
                self.config.mqtt_port,
                keepalive=self.keepalive_s,
                clean_start=False,
                properties=properties,
            )
        except OSError as exc:
            self.host.link_ready(self, f"connect: {exc}")

    def _reconnect(self) -> None:
        if self.stopping or self.connected:
            return
        try:
            self.client.reconnect()
        except OSError:
            self.host.loop.call_later(2.0 + random.random(), self._reconnect)

    def disconnect(self) -> None:
        """Disconnect cleanly (the session stays at the broker) and close the seen store."""
        self.stopping = True
        self.client.disconnect()
        self.seen.close()

    def _status(self, state: Literal["online", "offline"]) -> bytes:
        return protocol.encode_agent_message(
            protocol.DeviceStatus(
                device_id=self.spec.device_id, state=state, zone=",".join(self.spec.zones), ts=time.time()
            )
        )

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: mqtt.ConnectFlags, reason: ReasonCode, props: Any
    ) -> None:
        if reason.is_failure:
            self.stopping = True  # refused credentials do not get better by retrying
            self.host.link_ready(self, f"refused: {reason}")
            return
        topics = [protocol.device_command_topic(self.spec.device_id)]
        topics += [protocol.zone_command_topic(zone) for zone in self.spec.zones]
        topics += sorted(self._programme_topics)
        client.subscribe([(topic, SubscribeOptions(qos=1)) for topic in topics])

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, reasons: list[ReasonCode], props: Any
    ) -> None:
        refused = [str(code) for code in reasons if code.is_failure]
        client.publish(
            protocol.device_status_topic(self.spec.device_id), self._status("online"), qos=1, retain=True
        )
        self.connected = True
        self.host.link_ready(self, f"subscriptions refused: {refused}" if refused else None)

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any
    ) -> None:
        self.connected = False
        if self.stopping:
            return
        tls_error = getattr(client, "tls_error", None)
        if tls_error and not self.ready_once:
            self.stopping = True  # a certificate the pinned CA did not sign stays refused: do not retry
            self.host.link_ready(self, f"tls: {tls_error}")
            return
        self.host.link_lost(self)
        self.host.loop.call_later(1.0 + random.random(), self._reconnect)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        # Queue only, as the real transport: deciding here would delay this client's PUBACK.
        self.host.receive(self, message.topic, bytes(message.payload), time.time())

    # --- messages --------------------------------------------------------------------------------------

    def handle(self, topic: str, payload: bytes, received: float) -> None:
        """Handle one received message as the real agent would (raw probes are only timestamped)."""
        if payload.startswith(RAW_MARK):
            probe_id = payload[len(RAW_MARK) :].split(b":", 1)[0].decode()
            self._record(probe_id, "raw", received, received, started_at=received)
        elif topic in self._programme_topics:
            self._programme(payload, received)
        else:
            self._command(payload, received)

    def _command(self, payload: bytes, received: float) -> None:
        decision = decide(payload, time.time(), self.config, self.seen)
        if isinstance(decision, Rejected):
            outcome: Outcome = "duplicate" if decision.kind == "duplicate" else "rejected"
            self._record(decision.command_id, outcome, received, time.time(), reason=decision.reason)
            if decision.report:
                self._event(
                    protocol.CommandRejected(self.spec.device_id, decision.command_id, decision.reason[:500])
                )
            return
        command = decision.command
        self.seen.add(command.id, command.expires_at)  # durable before acting, as the real agent
        decided = time.time()
        if isinstance(decision, AcceptedAlert) and isinstance(command, protocol.AlertCommand):
            # The real player acknowledges, then starts the siren (prefetched by the programme) at once.
            self._record(command.id, "started", received, decided, started_at=time.time())
            ack = protocol.CommandReceived(self.spec.device_id, command.id, time.time())
            self.host.defer(lambda: self._event(ack))
            return
        if not isinstance(decision, Accepted):
            self._record(command.id, "control", received, decided)
            return
        play = decision.command

        def fetched(error: str | None) -> None:
            if error is not None:
                self._record(play.id, "fetch-failed", received, decided, start_at=play.start_at, reason=error)
                self._event(
                    protocol.CommandRejected(self.spec.device_id, play.id, f"clip fetch failed: {error}")
                )
            elif play.start_at <= time.time():
                self._start(play, received, decided, time.time())  # an alert: the real player starts at once
            else:
                self.host.loop.call_at_wall(
                    play.start_at, lambda now: self._start(play, received, decided, now)
                )

        if not self.host.fetch(self, play, fetched):
            fetched(None)

    def _programme(self, payload: bytes, received: float) -> None:
        """Verify a zone programme as a whole, then treat each entry as a command that arrived alone."""
        try:
            body = protocol.verify_message(
                payload, self.config.station_public_key, protocol.MAX_PROGRAMME_BYTES
            )
            programme = protocol.parse_programme(body)
        except protocol.ProtocolError as exc:
            self._record("", "rejected", received, time.time(), reason=f"programme: {exc}")
            return
        for entry in programme.entries:
            self._command(entry.encode(), received)

    def _start(self, command: protocol.PlayCommand, received: float, decided: float, started: float) -> None:
        # The real playout skips a play it could only start this late, or after its expiry.
        missed = started - command.start_at > LATE_TOLERANCE_S or started > command.expires_at
        self._record(
            command.id, "missed" if missed else "started", received, decided, command.start_at, started
        )
        if not missed and self.host.report_plays:
            report = protocol.PlayReport(
                device_id=self.spec.device_id,
                command_id=command.id,
                clip_sha256=command.clip.sha256,
                started_at=started,
                duration_s=command.clip.duration_s,
                priority=command.priority,
            )
            # After every agent due now has taken its start instant: publishing costs ~30 µs each.
            self.host.defer(lambda: self._event(report))

    def _record(
        self,
        message_id: str,
        outcome: Outcome,
        received: float,
        decided: float,
        start_at: float | None = None,
        started_at: float | None = None,
        reason: str = "",
    ) -> None:
        self.host.record(
            AgentRecord(
                self.spec.device_id, message_id, outcome, received, decided, start_at, started_at, reason
            )
        )

    def _event(self, message: protocol.AgentMessage) -> None:
        self.client.publish(
            protocol.device_event_topic(self.spec.device_id), protocol.encode_agent_message(message), qos=1
        )

    def heartbeat(self, now: float) -> bool:
        """Publish a realistic heartbeat at QoS 0; return False if dropped because the link is down."""
        if not self.connected:
            return False
        message = protocol.Heartbeat(
            device_id=self.spec.device_id,
            ts=now,
            uptime_s=86_400.0,
            agent_uptime_s=time.monotonic() - self.born,
            cpu_temp_c=51.5,
            disk_free_bytes=12_000_000_000,
            cache_bytes=48_000_000,
            clock_offset_ms=0.4,
            clock_source="ntp",
            ntp_synced=True,
            link=protocol.LinkInfo("wwan", -71.0),
            version="sim",
            volume=80,
        )
        info = self.client.publish(
            protocol.device_event_topic(self.spec.device_id), protocol.encode_agent_message(message), qos=0
        )
        return info.rc == mqtt.MQTT_ERR_SUCCESS
