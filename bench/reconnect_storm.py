"""A broker restart with hundreds of agents: how fast they are all back, and how hard they hit the broker.

Every client is the agent's real link (edge_agent.transport.MqttTransport: paho, persistent session,
subscriptions, retained online status) with the reconnect policy under test, in worker processes of
250 (paho's select() takes no descriptor past 1023), against one managed Mosquitto on loopback (plain
listener; --tls: its TLS listener, as deployed). Per policy, in the same run and on the same broker:
connect the group, stop the broker for --outage-s (long enough that every client's back-off is at its
cap), start it again, and measure
- when each client was connected again (subscribed and online), from the moment the broker was started,
  and the most clients that came back within any 1 s and any 100 ms;
- the connection attempts the broker accepted per second (its log: "New connection from", one a TCP
  connection) and the CONNECTs it took per second ("New client connected"), from its own timestamps.
Policies: "jitter" (the shipped one: broadcast.protocol.backoff, full jitter, 0.5 s doubling to 5 s),
"no_jitter" (the same windows, every client waiting the whole window: lock-step), and "paho_1_60"
(what the agent had: paho's own doubling from 1 s to 60 s, no jitter).

With full jitter at the cap, the wait left when the broker returns is the residual of a uniform [0, 5 s)
wait: at most 5 s, 5/3 s on average, most likely at once (the rate falls linearly to 0 at 5 s).

With --single, one agent alone goes through --repeat outages instead (how soon one Pi is back).

Usage: python bench/reconnect_storm.py [--clients 500] [--outage-s 20] [--tls]
                                       [--policies jitter,no_jitter,paho_1_60]
       python bench/reconnect_storm.py --single [--repeat 5] [--outage-s 20]
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import multiprocessing
import queue
import random
import re
import resource
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # runnable as a script from anywhere

from bench.simulator.report import emit, environment, exit_cleanly_on_sigterm, load_1m  # noqa: E402
from broadcast.mqtt import tls  # noqa: E402
from broadcast.mqtt.broker import BrokerConfig, ManagedBroker, write_credentials  # noqa: E402
from broadcast.mqtt.credentials import hash_password, new_password  # noqa: E402
from broadcast.protocol.backoff import RECONNECT, Backoff  # noqa: E402
from edge_agent.config import AgentConfig  # noqa: E402
from edge_agent.transport import Inbound, MqttTransport  # noqa: E402
from tests.support.free_port import free_port  # noqa: E402

_LOG_LINE = re.compile(r"^(\d+): (New connection from|New client connected from)")
POLL_S = 0.02


class _WholeWindow(random.Random):
    """A 'random' source that always draws the top of the window: the back-off without its jitter."""

    def random(self) -> float:
        return 1.0 - 1e-9


def make_client(config: AgentConfig, index: int, policy: str) -> MqttTransport:
    device = f"loa-{index:04d}"
    client = MqttTransport(
        dataclasses.replace(config, device_id=device, mqtt_username=device), queue.Queue[Inbound]()
    )
    if policy == "no_jitter":
        client._backoff = Backoff(rng=_WholeWindow())
    elif policy == "paho_1_60":
        client._retry_after = lambda delay_s: None  # type: ignore[method-assign]  # paho's own doubling
        client._client.reconnect_delay_set(min_delay=1, max_delay=60)
    elif policy != "jitter":
        raise SystemExit(f"unknown policy {policy!r}")
    return client


def host(conn: Connection, base: AgentConfig, indices: range, policy: str) -> None:
    """A worker process: run these clients, note when each came up, answer "report" and "stop"."""
    clients = [make_client(base, i, policy) for i in indices]
    was_up = [False] * len(clients)
    up_at: list[float | None] = [None] * len(clients)
    for client in clients:
        client.start()
    while True:
        if conn.poll(POLL_S):
            if conn.recv() == "stop":
                with ThreadPoolExecutor(max_workers=64) as pool:  # each stop may wait on paho's 1 s naps
                    list(pool.map(lambda client: client.stop(timeout=1.0), clients))
                conn.send("stopped")
                return
            conn.send(list(zip(was_up, up_at, strict=True)))
        now = time.monotonic()
        for k, client in enumerate(clients):
            up = client.connected.is_set()
            if up and not was_up[k]:
                up_at[k] = now
            was_up[k] = up


class Group:
    """Clients of one policy, spread over worker processes (paho's select() takes no fd past 1023)."""

    def __init__(self, base: AgentConfig, n: int, policy: str, per_worker: int = 250) -> None:
        context = multiprocessing.get_context("fork")
        self.conns: list[Connection] = []
        self.workers: list[BaseProcess] = []
        for first in range(0, n, per_worker):
            ours, theirs = context.Pipe()
            worker = context.Process(
                target=host,
                args=(theirs, base, range(first, min(n, first + per_worker)), policy),
                daemon=True,
            )
            worker.start()
            self.conns.append(ours)
            self.workers.append(worker)

    def states(self) -> list[tuple[bool, float | None]]:
        for conn in self.conns:
            conn.send("report")
        return [state for conn in self.conns for state in conn.recv()]

    def wait_all(self, since: float, timeout: float) -> list[float]:
        """Return, per client, seconds from `since` (monotonic) until it was connected, sorted."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = self.states()
            if all(up and at is not None and at >= since for up, at in states):
                return sorted(at - since for _, at in states if at is not None)
            time.sleep(0.1)
        missing = sum(1 for up, at in self.states() if not up or at is None or at < since)
        raise SystemExit(f"{missing} of {len(states)} clients not back within {timeout:g} s")

    def stop(self) -> None:
        for conn in self.conns:
            conn.send("stop")
        for conn, worker in zip(self.conns, self.workers, strict=True):
            conn.recv()
            worker.join(timeout=30)


def broker_log_rates(log: Path, since_unix: int) -> dict[str, Any]:
    """Return accepted TCP connections and CONNECTs per second from the broker's log, from since_unix."""
    accepts: collections.Counter[int] = collections.Counter()
    connects: collections.Counter[int] = collections.Counter()
    for line in log.read_text(errors="replace").splitlines():
        found = _LOG_LINE.match(line)
        if found is None or int(found[1]) < since_unix:
            continue
        second = int(found[1]) - since_unix
        (accepts if found[2] == "New connection from" else connects)[second] += 1
    return {
        "accepted_per_s_peak": max(accepts.values(), default=0),
        "connects_per_s_peak": max(connects.values(), default=0),
        "accepted_per_s": [accepts[s] for s in range(max(accepts, default=-1) + 1)],
        "connects_per_s": [connects[s] for s in range(max(connects, default=-1) + 1)],
    }


def busiest(times: list[float], window_s: float) -> int:
    """Return the most clients that came back within any `window_s` (times sorted)."""
    most, low = 0, 0
    for high, at in enumerate(times):
        while at - times[low] > window_s:
            low += 1
        most = max(most, high - low + 1)
    return most


def summary(times: list[float]) -> dict[str, float]:
    return {
        "all_back_s": round(times[-1], 2),
        "median_s": round(statistics.median(times), 2),
        "p95_s": round(times[int(0.95 * (len(times) - 1))], 2),
        "first_s": round(times[0], 2),
        "most_back_in_any_1_s": busiest(times, 1.0),
        "most_back_in_any_100_ms": busiest(times, 0.1),
    }


def outage(config: BrokerConfig, brokers: list[ManagedBroker], outage_s: float) -> tuple[float, int]:
    """Stop the running broker, wait outage_s, start it again; return (monotonic, unix s) of that start.

    Times are counted from the start (Mosquitto's own start-up, ~0.1 s, is in them): a client may be
    connected before start() has seen the port open.
    """
    brokers[-1].stop()
    time.sleep(outage_s)
    unix_before = int(time.time())
    began = time.monotonic()
    broker = ManagedBroker(config)
    brokers.append(broker)
    broker.start()
    return began, unix_before


def run_policy(
    policy: str,
    n: int,
    base: AgentConfig,
    config: BrokerConfig,
    brokers: list[ManagedBroker],
    outage_s: float,
) -> dict[str, Any]:
    started = time.monotonic()
    group = Group(base, n, policy)
    try:
        first = group.wait_all(started, 120)
        # Every client at its cap before the broker returns: 0.5 + 1 + 2 + 4 s of windows (paho_1_60:
        # 1 + 2 + 4 + 8 s, and its waits keep doubling whatever the outage).
        assert outage_s >= sum(RECONNECT.window(k) for k in range(4)), "outage too short to reach the cap"
        listened, unix = outage(config, brokers, outage_s)
        back = group.wait_all(listened, 180)
    finally:
        group.stop()
    return {
        "policy": policy,
        "clients": n,
        "first_connect_all_s": round(first[-1], 2),
        "after_restart": summary(back),
        "broker": broker_log_rates(config.log_path, unix),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--outage-s", type=float, default=20.0)
    parser.add_argument("--policies", default="jitter,no_jitter,paho_1_60")
    parser.add_argument("--single", action="store_true", help="one agent, --repeat outages")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--tls", action="store_true", help="agents on the TLS listener, as deployed")
    args = parser.parse_args()
    exit_cleanly_on_sigterm()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # paho: a socket and a wake-up pair per client
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.clients + 256)), hard))
    load_before = load_1m()
    with tempfile.TemporaryDirectory(prefix="reconnect-storm-") as tmp:
        tls_port = free_port() if args.tls else None
        directory = Path(tmp) / "mosquitto"
        config = BrokerConfig(directory=directory, port=free_port(), allow_anonymous=True, tls_port=tls_port)
        if args.tls:  # the station's own loopback listener wants its account files even here
            write_credentials(config, hash_password(new_password()), [])
        brokers = [ManagedBroker(config)]
        brokers[0].start()
        ca_pem = tls.ensure_ca(config.ca_directory).pem if args.tls else ""
        base = AgentConfig(
            device_id="x",
            zones=("thon-1",),
            station_url="http://127.0.0.1:8080",
            station_public_key="",
            mqtt_host="localhost" if args.tls else "127.0.0.1",
            mqtt_port=tls_port or config.port,
            mqtt_tls=args.tls,
            mqtt_ca_pem=ca_pem,
            mqtt_username="x",
            mqtt_password="",
            state_dir=Path(tmp) / "state",
        )
        try:
            if args.single:
                result: dict[str, Any] = {"single": single(base, config, brokers, args.outage_s, args.repeat)}
            else:
                result = {
                    "runs": [
                        run_policy(policy, args.clients, base, config, brokers, args.outage_s)
                        for policy in args.policies.split(",")
                    ]
                }
        finally:
            brokers[-1].stop()
    emit(
        (f"reconnect_single_{args.outage_s:g}s" if args.single else "reconnect_storm")
        + ("_tls" if args.tls else ""),
        {
            "bench": "reconnect_storm",
            "policy_shipped": dataclasses.asdict(RECONNECT),
            "outage_s": args.outage_s,
            "transport": "TLS" if args.tls else "plain TCP",
            **result,
            "load_1m": [load_before, load_1m()],
            "environment": environment(),
        },
    )


def single(
    base: AgentConfig, config: BrokerConfig, brokers: list[ManagedBroker], outage_s: float, repeat: int
) -> dict[str, Any]:
    """One agent alone through `repeat` outages: seconds from the broker listening to the agent online."""
    group = Group(base, 1, "jitter")
    times = []
    try:
        group.wait_all(time.monotonic() - 1, 30)
        for _ in range(repeat):
            listened, _ = outage(config, brokers, outage_s)
            times.append(round(group.wait_all(listened, 60)[0], 2))
            time.sleep(1.0)
    finally:
        group.stop()
    return {"back_s": times, "max_s": max(times), "median_s": statistics.median(times)}


if __name__ == "__main__":
    main()
