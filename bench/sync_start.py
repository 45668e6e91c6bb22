"""Synchronised start (issue 4): lateness and inter-agent skew of a zone's play at 100 and 1,000 agents.

A signed play command with start_at = now + LEAD goes to one zone of simulated agents (real decision
path, real Mosquitto with per-device accounts); each agent meets start_at like the real playout (sleep,
then spin) and records the instant. Lateness = that instant - start_at; skew = spread of the instants.
In the same run, a raw probe of the same size to the same clients gives Mosquitto's bare fan-out time.
All agents share this machine's clock, so clock offset between Pis (NTP) is not in these numbers.

Usage: python bench/sync_start.py [--sizes 100,1000] [--rounds 3] [--lead-s 3] [--fetch] [--out FILE]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # runnable as a script from anywhere

from bench.simulator import FleetSpec, run_fanout, scheduled  # noqa: E402
from bench.simulator.report import emit, environment, exit_cleanly_on_sigterm, load_1m  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000", help="comma-separated zone sizes")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lead-s", type=float, default=3.0, help="start_at = publish + this")
    parser.add_argument("--workers", type=int, default=0, help="simulator processes (0: one per CPU)")
    parser.add_argument("--fetch", action="store_true", help="agents fetch each clip over HTTP first")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    exit_cleanly_on_sigterm()
    began, load_start = time.monotonic(), load_1m()
    sizes: dict[str, Any] = {}
    for size in (int(s) for s in args.sizes.split(",")):
        spec = FleetSpec(n_agents=size, workers=args.workers, fetch=args.fetch)
        sizes[str(size)] = run_fanout(size, scheduled(args.lead_s), rounds=args.rounds, spec=spec)
    result = {
        "bench": "sync_start",
        **environment(),
        "method": (
            f"signed normal play, start_at = publish + {args.lead_s:g} s, QoS1 + message expiry, to one "
            "zone; agents: own account + persistent session, edge_agent.handlers.decide + SeenStore, start "
            "= wall-clock timer met like edge_agent.playout (sleep, spin last 2 ms); raw = same-size probe, "
            "receive - publish, same clients, no handling"
        ),
        "clip_fetch": "HTTP GET + sha256 per agent" if args.fetch else "off (clip assumed cached)",
        "lead_s": args.lead_s,
        "sizes": sizes,
        "loadavg_1m": {"start": load_start, "end": load_1m()},
        "seconds": round(time.monotonic() - began, 1),
    }
    emit("sync_start", result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
