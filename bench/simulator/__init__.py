"""Simulated edge agents by the thousand, for the fan-out, synchronised-start and scale benchmarks.

Worker processes each drive a share of the agents on one selector (paho's external-loop API); every
agent has its own broker account and persistent session and runs the real agent's decision path
(`edge_agent.handlers.decide` + `SeenStore`); plays are timers met like the real playout.
"""

from __future__ import annotations

from bench.simulator.fanout import (
    MessageFactory,
    Outgoing,
    Round,
    emergency,
    fan_out,
    round_stats,
    run_fanout,
    scheduled,
)
from bench.simulator.fleet import ConnectResult, Fleet, FleetSpec
from bench.simulator.records import AgentRecord
from bench.simulator.station import BenchStation, StationKey, new_station_key
from bench.simulator.stats import percentile, ratio, skew_ms, summarize_ms

__all__ = [
    "AgentRecord",
    "BenchStation",
    "ConnectResult",
    "Fleet",
    "FleetSpec",
    "MessageFactory",
    "Outgoing",
    "Round",
    "StationKey",
    "emergency",
    "fan_out",
    "new_station_key",
    "percentile",
    "ratio",
    "round_stats",
    "run_fanout",
    "scheduled",
    "skew_ms",
    "summarize_ms",
]
