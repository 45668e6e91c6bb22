"""Emergency alert (issue 5): publish -> audio start at 100, 1,000 and 5,000 simulated agents.

The station's step is measured from the publish: a signed emergency play (start_at = now, QoS1, message
expiry 60 s) goes to one zone holding every agent; each agent runs the real decision path and starts at
once, recording the instant. In the same run a raw probe of the same size to the same clients gives
Mosquitto's bare fan-out. `bench.simulator.run_fanout(n, factory)` is the hook to put the HTTP POST and
synthesis in front: the factory runs inside the timed span.

Click -> siren start (issue 13, bench/alert_click.py): the real station app takes POST /api/alerts and
publishes the siren before any synthesis; the span runs from just before the POST to each simulated
agent's siren start. Goal: p99 <= 300 ms at 1,000 agents.

Usage: python bench/alert_latency.py [--sizes 100,1000,5000] [--click-sizes 1000] [--rounds 3] [--fetch]
       [--out FILE]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # runnable as a script from anywhere

from bench.alert_click import BENCH_USER, STATION_URL, ClickFactory  # noqa: E402
from bench.simulator import FleetSpec, StationKey, emergency, run_fanout  # noqa: E402
from bench.simulator.report import emit, environment, exit_cleanly_on_sigterm, load_1m  # noqa: E402

GOAL_P99_MS = {1000: 1000.0, 5000: 3000.0}  # issue 5, on this 2-core machine
CLICK_GOAL_P99_MS = {1000: 300.0}  # issue 13: click -> siren start


def click_to_siren(size: int, rounds: int, workers: int) -> dict[str, Any]:
    """Return click -> siren start statistics at `size` agents, and the POST's own duration."""
    factory = ClickFactory()
    spec = FleetSpec(
        n_agents=size,
        workers=workers,
        report_plays=False,  # agents acknowledge (as the real one) but the span ends at the siren
        station_key=StationKey(factory.public_key),
        extra_users=(BENCH_USER,),
        station_url=STATION_URL,
    )
    try:
        stats = run_fanout(size, factory, rounds=rounds, spec=spec)
    finally:
        factory.close()
    posts = sorted(factory.post_ms[1:])  # the warm-up round's POST imports and opens everything
    stats["post_ms"] = {"n": len(posts), "p50": round(posts[len(posts) // 2], 1), "max": round(posts[-1], 1)}
    p99 = stats["publish_to_start_ms"].get("p99")
    goal = CLICK_GOAL_P99_MS.get(size)
    if goal is not None:
        stats["goal"] = {"p99_ms": p99, "goal_p99_ms": goal, "p99_met": p99 is not None and p99 <= goal}
    return stats


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,5000", help="comma-separated fleet sizes")
    parser.add_argument("--click-sizes", default="1000", help="fleet sizes for click -> siren ('' to skip)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=0, help="simulator processes (0: one per CPU)")
    parser.add_argument("--fetch", action="store_true", help="agents fetch each new alert clip over HTTP")
    parser.add_argument("--no-reports", action="store_true", help="agents do not publish play reports")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    exit_cleanly_on_sigterm()
    began, load_start = time.monotonic(), load_1m()
    sizes: dict[str, Any] = {}
    goals: dict[str, Any] = {}
    for size in (int(s) for s in args.sizes.split(",")):
        spec = FleetSpec(
            n_agents=size, workers=args.workers, fetch=args.fetch, report_plays=not args.no_reports
        )
        stats = run_fanout(size, emergency, rounds=args.rounds, spec=spec)
        sizes[str(size)] = stats
        if size in GOAL_P99_MS:
            p99 = stats["publish_to_start_ms"].get("p99")
            # edge_agent.playout skips a play more than LATE_TOLERANCE_S past its start_at: an alert with
            # start_at = now that reaches an agent later than that is never heard there.
            skipped = stats["outcomes"].get("missed", 0)
            goals[str(size)] = {
                "p99_ms": p99,
                "goal_p99_ms": GOAL_P99_MS[size],
                "p99_met": p99 is not None and p99 <= GOAL_P99_MS[size],
                "would_be_skipped_by_playout": skipped,
                "missing": stats["missing"],
            }
    clicks = {
        str(size): click_to_siren(size, args.rounds, args.workers)
        for size in (int(s) for s in args.click_sizes.split(",") if s)
    }
    result = {
        "bench": "alert_latency",
        **environment(),
        "method": (
            "publish (signed emergency play, start_at = now, QoS1, message expiry 60 s, station session "
            "waits for PUBACK) -> each agent: own account + persistent session, edge_agent.handlers.decide "
            "(Ed25519 verify) + SeenStore.add (fsync, tmpfs) -> start instant; the span starts before "
            "signing; raw = same-size probe, receive - publish, same clients, no handling; agents report "
            "each play (QoS1), station_acks = when the station consumed those reports"
        ),
        "clip_fetch": "HTTP GET + sha256 per agent per alert" if args.fetch else "off (alert clip cached)",
        "play_reports": not args.no_reports,
        "sizes": sizes,
        "goals": goals,
        "click_to_siren": clicks,
        "click_method": (
            "POST /api/alerts (approver, new text each round) to the real station app in this process "
            "(SQLite, managed Mosquitto shared with the fleet, bench account) -> siren command published "
            "before synthesis -> each agent's decide + ack -> siren start instant; span from just before "
            "the POST; the speech follows as alert_speech while the next round waits"
        ),
        "loadavg_1m": {"start": load_start, "end": load_1m()},
        "seconds": round(time.monotonic() - began, 1),
    }
    emit("alert_latency", result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
