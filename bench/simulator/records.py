"""Data passed between the coordinator and the worker processes (all picklable, no behaviour)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

# A raw fan-out probe starts with this marker: the worker records its arrival and skips all handling.
RAW_MARK = b"\x00raw:"

# started: the clip would start now; missed: it arrived too late and the real playout would skip it;
# raw: a probe (no handling); control: an accepted volume / test-tone command.
Outcome = Literal["started", "missed", "raw", "control", "rejected", "duplicate", "fetch-failed"]


@dataclass(frozen=True)
class AgentSpec:
    """One simulated device: its broker account and zones."""

    device_id: str
    password: str
    zones: tuple[str, ...]


@dataclass(frozen=True)
class WorkerSpec:
    """Everything one worker process needs to host its share of the fleet."""

    index: int
    agents: tuple[AgentSpec, ...]
    host: str
    port: int
    public_key: str
    station_url: str
    state_dir: Path
    fetch: bool = False
    report_plays: bool = True
    connect_window: int = 32
    keepalive_s: int = 60
    tls_ca_pem: str = ""  # set: agents connect over TLS and trust only this CA (as agent.toml pins it)


@dataclass(frozen=True)
class AgentRecord:
    """What one simulated agent did with one message (times are unix seconds from time.time())."""

    device_id: str
    message_id: str
    outcome: Outcome
    received_at: float
    decided_at: float
    start_at: float | None = None
    started_at: float | None = None
    reason: str = ""


# --- coordinator -> worker ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Connect:
    """Connect every agent (persistent session, subscriptions, online status), a few at a time."""

    timeout_s: float = 300.0


@dataclass(frozen=True)
class RawConnect:
    """Baseline: open a bare MQTT connection per identity (CONNECT/CONNACK only), then close them all."""

    timeout_s: float = 300.0


@dataclass(frozen=True)
class Collect:
    """Reply with the records of message_id once every agent reached by topic has one (or at the deadline)."""

    message_id: str
    topic: str
    timeout_s: float


@dataclass(frozen=True)
class Heartbeats:
    """Publish heartbeats (QoS 0) at rate_per_s, spread over this worker's agents, for duration_s."""

    rate_per_s: float
    duration_s: float


@dataclass(frozen=True)
class Stop:
    """Disconnect every agent and end the process."""


Request = Connect | RawConnect | Collect | Heartbeats | Stop


# --- worker -> coordinator ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Built:
    """The agents (configs, seen stores, MQTT clients) exist; nothing is connected yet."""

    index: int
    agents: int
    seconds: float


@dataclass(frozen=True)
class Connected:
    """How a Connect or RawConnect went: how many made it and when the first and last finished."""

    index: int
    ok: int
    failed: int
    started_at: float
    finished_at: float
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Records:
    """The answer to a Collect; missing lists the targeted agents that recorded nothing in time."""

    index: int
    message_id: str
    records: tuple[AgentRecord, ...]
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class HeartbeatsSent:
    """How many heartbeats were published, and over which wall-clock interval."""

    index: int
    sent: int
    started_at: float
    finished_at: float


@dataclass(frozen=True)
class Stopped:
    """Final counters of a worker."""

    index: int
    disconnects: int
    handled: int
    handle_cpu_s: float
    errors: tuple[str, ...] = field(default_factory=tuple)


Reply = Built | Connected | Records | HeartbeatsSent | Stopped
