"""Fan one message out to the fleet, next to a raw Mosquitto probe of the same size, and summarise."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from bench.simulator.fleet import Fleet, FleetSpec
from bench.simulator.records import AgentRecord
from bench.simulator.stats import pooled_skew_ms, ratio, skew_ms, summarize_ms
from broadcast import protocol

# "missed" plays count: their instant is when they would have started had the player not refused them.
_PLAYED = ("started", "missed")
_IMMEDIATE_S = 0.05  # a start_at no later than this after the publish means "play now"
QUIET_S = 0.3  # the station heard nothing from agents this long: play reports have drained


@dataclass(frozen=True)
class Outgoing:
    """One message to fan out: where it goes, its bytes, and the id agents will record it under."""

    message_id: str
    topic: str
    payload: bytes | None  # None: the factory already published it (e.g. through the station's API)
    expiry_s: float = 60.0
    start_at: float | None = None  # None or <= now: play immediately
    size: int = 0  # bytes on the wire when payload is None (for the raw probe)


MessageFactory = Callable[[Fleet], Outgoing]


def emergency(fleet: Fleet) -> Outgoing:
    """Return a signed emergency play of an alert clip, starting now, for every zone (as POST /api/alerts)."""
    now = time.time()
    command, payload = fleet.play_command(start_at=now, priority="emergency", expires_in=60.0)
    return Outgoing(command.id, protocol.zone_command_topic(fleet.zones[0]), payload, 60.0, command.start_at)


def scheduled(lead_s: float, priority: protocol.Priority = "normal") -> MessageFactory:
    """Return a factory of signed plays that start lead_s after they are published."""

    def make(fleet: Fleet) -> Outgoing:
        command, payload = fleet.play_command(start_at=time.time() + lead_s, priority=priority)
        expiry = command.expires_at - time.time()
        return Outgoing(
            command.id, protocol.zone_command_topic(fleet.zones[0]), payload, expiry, command.start_at
        )

    return make


@dataclass
class Round:
    """One fan-out of a real command and of a raw probe, with every agent's records."""

    published_at: float  # just before the factory ran (it signs, or POSTs)
    outgoing: Outgoing
    records: list[AgentRecord]
    missing: list[str]
    raw_published_at: float
    raw_records: list[AgentRecord]
    raw_missing: list[str]
    acks: list[float] = field(default_factory=list)


def fan_out(fleet: Fleet, factory: MessageFactory, timeout_s: float = 60.0) -> Round:
    """Publish factory's message and collect every agent's outcome; then the same for a raw probe."""
    began = time.time()
    outgoing = factory(fleet)
    if outgoing.payload is not None:
        fleet.publish(outgoing.topic, outgoing.payload, outgoing.expiry_s)
    wait_s = timeout_s + max(0.0, (outgoing.start_at or began) - time.time())
    records, missing = fleet.collect(outgoing.message_id, outgoing.topic, wait_s)
    played = sum(record.outcome == "started" for record in records) if fleet.spec.report_plays else 0
    acks = [t - began for t in fleet.ingest.wait_acks(outgoing.message_id, played)]
    fleet.ingest.wait_quiet(QUIET_S)  # the next publish must not compete with this one's reports
    size = len(outgoing.payload) if outgoing.payload is not None else outgoing.size
    probe_id, probe = fleet.raw_probe(size)
    raw_began = time.time()
    fleet.publish(outgoing.topic, probe, outgoing.expiry_s)
    raw_records, raw_missing = fleet.collect(probe_id, outgoing.topic, timeout_s)
    fleet.ingest.wait_quiet(QUIET_S)
    return Round(began, outgoing, records, missing, raw_began, raw_records, raw_missing, acks)


def round_stats(rounds: list[Round]) -> dict[str, Any]:
    """Return pooled statistics over rounds: start latency or lateness, skew, receive, handling, raw."""
    starts = [(r, rec) for r in rounds for rec in r.records if rec.outcome in _PLAYED]
    immediate = all((r.outgoing.start_at or 0) <= r.published_at + _IMMEDIATE_S for r in rounds)
    from_publish = [rec.started_at - r.published_at for r, rec in starts if rec.started_at is not None]
    lateness = [
        rec.started_at - rec.start_at
        for _, rec in starts
        if rec.started_at is not None and rec.start_at is not None
    ]
    receive = [rec.received_at - r.published_at for r in rounds for rec in r.records]
    handling = [rec.decided_at - rec.received_at for r in rounds for rec in r.records]
    margin = [rec.start_at - rec.received_at for _, rec in starts if rec.start_at is not None]
    raw = [rec.received_at - r.raw_published_at for r in rounds for rec in r.raw_records]
    outcomes: dict[str, int] = {}
    for r in rounds:
        for rec in r.records:
            outcomes[rec.outcome] = outcomes.get(rec.outcome, 0) + 1
    instants = [
        [rec.started_at for rec in r.records if rec.outcome in _PLAYED and rec.started_at is not None]
        for r in rounds
    ]
    agent_key = "publish_to_start_ms" if immediate else "lateness_ms"
    agent_summary = summarize_ms(from_publish if immediate else lateness)
    raw_summary = summarize_ms(raw)
    result: dict[str, Any] = {
        "rounds": len(rounds),
        "message_bytes": len(rounds[0].outgoing.payload or b"") if rounds else 0,
        "outcomes": outcomes,
        "missing": sum(len(r.missing) for r in rounds),
        agent_key: agent_summary,
        "receive_ms": summarize_ms(receive),
        "receive_to_decided_ms": summarize_ms(handling),
        "skew_ms": pooled_skew_ms(instants),
        "skew_ms_per_round": [skew_ms(group) for group in instants],
        "raw_fanout_ms": raw_summary,
        "raw_missing": sum(len(r.raw_missing) for r in rounds),
        "station_acks_ms": summarize_ms([a for r in rounds for a in r.acks]),
    }
    if immediate:
        result["ratio_p50_vs_raw"] = ratio(agent_summary.get("p50"), raw_summary.get("p50"))
        result["ratio_p99_vs_raw"] = ratio(agent_summary.get("p99"), raw_summary.get("p99"))
    else:
        result["publish_to_start_ms"] = summarize_ms(from_publish)
        result["start_margin_ms"] = summarize_ms(margin)  # how long before start_at the command was in hand
    return result


def run_fanout(
    n_agents: int,
    message_factory: MessageFactory = emergency,
    *,
    rounds: int = 3,
    warmup: int = 1,
    spec: FleetSpec | None = None,
    timeout_s: float = 60.0,
) -> dict[str, Any]:
    """Start n_agents, fan message_factory's message out `rounds` times next to raw probes, return stats.

    The factory receives the started, connected Fleet and returns an Outgoing; timing starts just before
    it is called. To put the station's own POST /api/alerts (synthesis, signing, publish) in the span,
    run the station app against `fleet.station.mqtt_url()` and have the factory POST, then return
    Outgoing(command_id, topic, payload=None, size=...). Give the fleet a spec with
    station_user/extra_users set to a bench account (the app needs the `station` login), station_key =
    StationKey(<the app's public key>) and station_url = the app's base URL (agents refuse clip URLs
    elsewhere).
    """
    fleet_spec = replace(spec, n_agents=n_agents) if spec else FleetSpec(n_agents=n_agents)
    with Fleet(fleet_spec) as fleet:
        connected = fleet.connect()
        if connected.failed:
            raise RuntimeError(f"{connected.failed} agents did not connect: {connected.errors[:3]}")
        for _ in range(warmup):  # first calls import and warm up cryptography, paho and the broker's paths
            fan_out(fleet, message_factory, timeout_s)
        cpu_before = fleet.cpu()
        done = [fan_out(fleet, message_factory, timeout_s) for _ in range(rounds)]
        cpu_after = fleet.cpu()
        stats = round_stats(done)
        stats["n_agents"] = n_agents
        stats["connect_s"] = round(connected.seconds, 3)
        stats["cpu_s_during_rounds"] = {k: round(cpu_after[k] - cpu_before[k], 2) for k in cpu_after}
    stats["worker_handle_us_per_message"] = round(
        1e6 * sum(s.handle_cpu_s for s in fleet.stopped) / max(1, sum(s.handled for s in fleet.stopped)), 1
    )
    return stats
