"""One station, 5,000 agents (issue 9): connect time, status/heartbeat ingest rate, broadcast fan-out.

Every simulated agent has its own account (passwd + `%u` ACL from broadcast.mqtt.credentials), an MQTT v5
persistent session, three subscriptions and a retained online status, as the real agent. Phases, all in
one run against one managed Mosquitto:
1. connect: raw (bare CONNECT/CONNACK per identity, held, then closed) vs agents (session, subscriptions,
   status); and when the station saw every device online;
2. ingest: agents publish heartbeats (QoS 0, realistic body) at stepped total rates; consumed by the
   station's own session (StationMqtt + protocol.parse_agent_message), then by a raw C subscriber
   (mosquitto_sub) alone, in the same steps;
3. fan-out: a signed emergency play to all agents vs a raw probe of the same size.

With --tls the run compares transports instead: for plain and for TLS in turn (--repeat times), a fresh
broker configured as the station's managed one (TLS: devices on the TLS listener with the generated CA
and server certificate, agents pinning that CA as agent.toml does) gets the connect phase and the
fan-out; broker CPU and memory are read from /proc. Results go to bench/results/scale_connect_tls.json.

Usage: python bench/scale_connect.py [--agents 5000] [--rates 1000,2500,5000,10000,20000] [--step-s 3]
       python bench/scale_connect.py --tls [--agents 5000] [--repeat 2] [--rounds 2]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # runnable as a script from anywhere

from bench.simulator import Fleet, FleetSpec, emergency, fan_out, round_stats  # noqa: E402
from bench.simulator.report import emit, environment, exit_cleanly_on_sigterm, load_1m  # noqa: E402
from broadcast import protocol  # noqa: E402

OBSERVER = "bench-observer"  # a bench-only account for the raw subscriber (the station account is in use)
HEARTBEAT_S = 30.0  # the agent's default heartbeat interval

Arrivals = Callable[[float, float], list[float]]


def _cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {key: round(after[key] - before[key], 2) for key in after}


def connect_phase(fleet: Fleet) -> dict[str, Any]:
    """Return raw and agent connect times, the broker's memory, and when the station saw all online."""
    memory_before = fleet.broker_memory()
    cpu = fleet.cpu()
    raw = fleet.raw_connect()
    cpu_raw = fleet.cpu()
    memory_raw = fleet.broker_memory()  # its peak: every raw connection was held open at once
    began = time.time()
    agents = fleet.connect()
    deadline = time.monotonic() + 60
    while fleet.ingest.all_online_at is None and time.monotonic() < deadline:
        time.sleep(0.05)
    online_at = fleet.ingest.all_online_at
    return {
        "window_per_worker": fleet.spec.connect_window,
        "raw": {"ok": raw.ok, "failed": raw.failed, "seconds": round(raw.seconds, 3),
                "per_s": round(raw.ok / raw.seconds, 1), "cpu_s": _cpu_delta(cpu, cpu_raw)},
        "agents": {"ok": agents.ok, "failed": agents.failed, "seconds": round(agents.seconds, 3),
                   "per_s": round(agents.ok / agents.seconds, 1), "errors": agents.errors[:3],
                   "cpu_s": _cpu_delta(cpu_raw, fleet.cpu())},
        "station_saw_all_online_s": round(online_at - began, 3) if online_at else None,
        "station_online": fleet.ingest.online(),
        "broker_memory_mb": {"before": memory_before["rss_mb"], "raw_peak": memory_raw["peak_rss_mb"],
                             "agents_connected": fleet.broker_memory()["rss_mb"]},
    }  # fmt: skip


def ingest_step(
    fleet: Fleet, rate: float, step_s: float, arrivals: Arrivals, quiet: Callable[[], object]
) -> dict[str, Any]:
    """Offer heartbeats at `rate` for step_s; return what was sent and what the consumer took, how fast."""
    cpu = fleet.cpu()
    sent, first, last = fleet.heartbeats(rate, step_s)
    quiet()
    got = arrivals(first - 0.001, last + 60)
    span = max(last - first, 1e-6)
    during = sum(1 for t in got if t <= last)
    return {
        "target_per_s": rate,
        "sent": sent,
        "sent_per_s": round(sent / span, 1),
        "consumed": len(got),
        "consumed_per_s_while_sending": round(during / span, 1),
        "consumed_per_s_overall": round(len(got) / max(got[-1] - first, 1e-6), 1) if got else 0.0,
        "drain_after_send_s": round(max(0.0, got[-1] - last), 3) if got else None,
        "lost": sent - len(got),
        "cpu_s": _cpu_delta(cpu, fleet.cpu()),
    }


class RawSubscriber:
    """mosquitto_sub (C) on the agents' status and event topics, timestamping each message into a file."""

    def __init__(self, fleet: Fleet, directory: Path) -> None:
        self.path = directory / "raw-sub.txt"
        password = fleet.station.password(OBSERVER)
        command = [
            "stdbuf", "-oL", shutil.which("mosquitto_sub") or "mosquitto_sub",
            "-h", "127.0.0.1", "-p", str(fleet.station.port), "-V", "5", "-q", "1", "-R", "-F", "%U",
            "-i", OBSERVER, "-u", OBSERVER, "-P", password,
            "-t", protocol.STATUS_SUBSCRIPTION, "-t", protocol.EVENT_SUBSCRIPTION,
        ]  # fmt: skip
        self._handle = self.path.open("wb")
        self.process = subprocess.Popen(command, stdout=self._handle, stderr=subprocess.DEVNULL)
        time.sleep(1.0)  # connected and subscribed (it prints nothing until a message comes)

    def arrivals(self, start: float, end: float) -> list[float]:
        times = [float(line) for line in self.path.read_text().split() if line]
        return [t for t in times if start <= t <= end]

    def quiet(self, quiet_s: float = 0.5, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        size = -1
        while time.monotonic() < deadline:
            now = self.path.stat().st_size
            if now == size:
                return
            size = now
            time.sleep(quiet_s)

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self._handle.close()


def ingest_phase(fleet: Fleet, rates: list[float], step_s: float) -> dict[str, Any]:
    """Return stepped ingest results for the station's session, then for a raw C subscriber alone."""
    station = [
        ingest_step(fleet, rate, step_s, fleet.ingest.between, lambda: fleet.ingest.wait_quiet(0.5, 60))
        for rate in rates
    ]
    fleet.station.session_off()
    scratch = Path(tempfile.mkdtemp(prefix="loa-sim-rawsub-"))
    subscriber = RawSubscriber(fleet, scratch)
    try:
        raw = [ingest_step(fleet, rate, step_s, subscriber.arrivals, subscriber.quiet) for rate in rates]
    finally:
        subscriber.close()
        shutil.rmtree(scratch, ignore_errors=True)
        fleet.station.session_on()
    return {
        "step_s": step_s,
        "heartbeat_bytes": len(_sample_heartbeat()),
        "production_rate_per_s": round(fleet.spec.n_agents / HEARTBEAT_S, 1),
        "station": station,
        "raw_mosquitto_sub": raw,
    }


def _sample_heartbeat() -> bytes:
    return protocol.encode_agent_message(
        protocol.Heartbeat("loa-00000", time.time(), 86_400.0, 10.0, 51.5, 12_000_000_000, 48_000_000, 0.4,
                           "ntp", True, protocol.LinkInfo("wwan", -71.0), "sim", 80)
    )  # fmt: skip


def transport_run(args: argparse.Namespace, tls: bool) -> dict[str, Any]:
    """Connect the fleet on a fresh broker over one transport, then fan out; return the figures."""
    spec = FleetSpec(n_agents=args.agents, workers=args.workers, tls=tls)
    load = load_1m()
    with Fleet(spec) as fleet:
        connect = connect_phase(fleet)
        fan_out(fleet, emergency)  # warm-up
        cpu = fleet.cpu()
        fanout = round_stats([fan_out(fleet, emergency) for _ in range(args.rounds)])
        fanout["cpu_s"] = _cpu_delta(cpu, fleet.cpu())
        memory = fleet.broker_memory()
    return {
        "transport": "tls" if tls else "plain",
        "build_agents_s": round(fleet.build_s, 2),
        "connect": connect,
        "fanout": fanout,
        "broker_memory_mb_end": memory,
        "worker_disconnects": sum(s.disconnects for s in fleet.stopped),
        "worker_errors": [e for s in fleet.stopped for e in s.errors][:3],
        "loadavg_1m_start": load,
    }


def compare_transports(args: argparse.Namespace) -> dict[str, Any]:
    """Run plain then TLS (alternating, --repeat times) in one process; return every run."""
    runs: dict[str, list[dict[str, Any]]] = {"plain": [], "tls": []}
    for _ in range(args.repeat):
        for tls in (False, True):
            runs["tls" if tls else "plain"].append(transport_run(args, tls))
    return runs


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=5000)
    parser.add_argument("--rates", default="1000,2500,5000,10000,20000", help="heartbeats/s, total")
    parser.add_argument("--step-s", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=2, help="fan-out rounds")
    parser.add_argument("--workers", type=int, default=0, help="simulator processes (0: one per CPU)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--tls", action="store_true", help="compare plain and TLS connects (see above)")
    parser.add_argument("--repeat", type=int, default=2, help="--tls: plain/TLS pairs to run")
    args = parser.parse_args(argv)
    exit_cleanly_on_sigterm()
    began, load_start = time.monotonic(), load_1m()
    if args.tls:
        runs = compare_transports(args)
        comparison = {"bench": "scale_connect_tls", **environment(), "agents": args.agents, "runs": runs,
                      "loadavg_1m": {"start": load_start, "end": load_1m()},
                      "seconds": round(time.monotonic() - began, 1)}  # fmt: skip
        emit("scale_connect_tls", comparison, args.out)
        return 0
    rates = [float(r) for r in args.rates.split(",")]
    spec = FleetSpec(n_agents=args.agents, workers=args.workers, extra_users=(OBSERVER,))
    with Fleet(spec) as fleet:
        build_s = fleet.build_s
        connect = connect_phase(fleet)
        ingest = ingest_phase(fleet, rates, args.step_s)
        fan_out(fleet, emergency)  # warm-up
        cpu = fleet.cpu()
        fanout = round_stats([fan_out(fleet, emergency) for _ in range(args.rounds)])
        fanout["cpu_s"] = _cpu_delta(cpu, fleet.cpu())
    result = {
        "bench": "scale_connect",
        **environment(),
        "agents": args.agents,
        "workers": len(fleet.stopped),
        "build_agents_s": round(build_s, 2),
        "connect": connect,
        "ingest": ingest,
        "fanout": fanout,
        "worker_disconnects": sum(s.disconnects for s in fleet.stopped),
        "worker_errors": [e for s in fleet.stopped for e in s.errors][:3],
        "loadavg_1m": {"start": load_start, "end": load_1m()},
        "seconds": round(time.monotonic() - began, 1),
    }
    emit("scale_connect", result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
