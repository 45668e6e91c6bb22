"""What an idle agent's MQTT link costs on a metered 4G SIM, per keepalive and heartbeat interval.

Each configuration is a real agent link (edge_agent.transport.MqttTransport, TLS with the pinned CA, its
persistent session and subscriptions) publishing real heartbeats (edge_agent.heartbeat: the health
collectors of this machine, a chrony reading as on a Pi), all at once against one managed Mosquitto
with the station's TLS listener on loopback. Bytes are read from the kernel's TCP counters of each
agent's socket (`ss -ti`: bytes_sent/bytes_received, segs_out/segs_in), so they include TLS records and
every pure ACK. What a 4G operator counts is IP packets: payload + 52 bytes per segment (IPv4 20, TCP 20,
timestamps 12). The connect itself (TCP + TLS handshake, CONNECT, SUBSCRIBE, retained messages, the
online status) is counted apart: it is what each reconnect costs.

The offline verdict: the broker publishes the agent's will 1.5 x keepalive after the last packet it got
from it (MQTT 3.1.2.10), and the agent sends one at least every keepalive, so a link lost at any moment is
shown offline within 1.5 x keepalive (+ the station's handling, well under a second).

Usage: python bench/link_cost.py [--window-s 600] [--configs 30/30,20/30,...]   (keepalive/heartbeat)
"""

from __future__ import annotations

import argparse
import dataclasses
import queue
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # runnable as a script from anywhere

from bench.simulator.report import emit, environment, exit_cleanly_on_sigterm, load_1m  # noqa: E402
from broadcast.mqtt import tls  # noqa: E402
from broadcast.mqtt.broker import BrokerConfig, ManagedBroker, write_credentials  # noqa: E402
from broadcast.mqtt.credentials import DeviceCredential, hash_password, new_password  # noqa: E402
from edge_agent.clock import ClockMonitor  # noqa: E402
from edge_agent.config import AgentConfig  # noqa: E402
from edge_agent.heartbeat import HeartbeatLoop, Vitals  # noqa: E402
from edge_agent.transport import Inbound, MqttTransport  # noqa: E402
from tests.support.free_port import free_port  # noqa: E402

DEFAULT_CONFIGS = "30/30,20/30,15/30,10/30,60/30,20/60,20/120"
IP_TCP_HEADER = 20 + 20 + 12  # IPv4 + TCP + the timestamps option Linux sends on every segment
SETTLE_S = 8.0  # after connecting: subscriptions, retained messages, online status, the first heartbeat
DAY_S = 86_400
MONTH_DAYS = 30
CHRONY = "A,B,C,D,-0.000012,F,G,H,I,J,K,L,M,Normal\n"  # a synced Pi's `chronyc -c tracking`
_COUNTERS = re.compile(r"\b(bytes_sent|bytes_received|segs_out|segs_in):(\d+)")


@dataclass
class Link:
    """One agent: its link, its heartbeat thread, and its socket's counters at the start of the window."""

    keepalive_s: int
    heartbeat_s: float
    transport: MqttTransport
    heartbeat: HeartbeatLoop
    start: dict[str, int] | None = None
    connect: dict[str, int] | None = None

    @property
    def local_port(self) -> int:
        sock = self.transport._client.socket()  # paho keeps no public handle on its socket
        assert isinstance(sock, socket.socket), "not connected"
        return int(sock.getsockname()[1])


def counters(local_port: int) -> dict[str, int]:
    """Return the kernel's TCP counters of the loopback connection from local_port."""
    out = subprocess.run(
        ["ss", "-tinH", "state", "established", f"( sport = :{local_port} )"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = {name: int(value) for name, value in _COUNTERS.findall(out)}
    for name in ("bytes_sent", "bytes_received", "segs_out", "segs_in"):
        found.setdefault(name, 0)  # ss leaves out a counter that is still 0
    return found


def ip_bytes(c: dict[str, int]) -> int:
    """Return the bytes of the IP packets behind the TCP counters c (both directions)."""
    return c["bytes_sent"] + c["bytes_received"] + IP_TCP_HEADER * (c["segs_out"] + c["segs_in"])


def minus(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {key: a[key] - b[key] for key in a}


def start_link(
    index: int, keepalive_s: int, heartbeat_s: float, base: AgentConfig, state: Path, password: str
) -> Link:
    device = f"loa-{index:02d}"
    config = dataclasses.replace(
        base, device_id=device, mqtt_username=device, mqtt_password=password, state_dir=state / device
    )
    transport = MqttTransport(config, queue.Queue[Inbound](), version="bench", keepalive_s=keepalive_s)
    clock = ClockMonitor(run=lambda command: CHRONY if command[0] == "chronyc" else None, probe=lambda: None)
    (state / device / "clips").mkdir(parents=True)
    vitals = Vitals(
        device,
        "0.1.0",
        state / device,
        state / device / "clips",
        clock,
        volume=lambda: 80,
        now_playing=lambda: None,
        settings=lambda: {"heartbeat_interval_s": heartbeat_s},
    )
    loop = HeartbeatLoop(heartbeat_s, vitals.collect, transport.publish_heartbeat)
    return Link(keepalive_s, heartbeat_s, transport, loop)


def measure(configs: list[tuple[int, float]], window_s: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="link-cost-") as tmp:
        work = Path(tmp)
        broker_config = BrokerConfig(directory=work / "mosquitto", port=free_port(), tls_port=free_port())
        passwords = [new_password() for _ in configs]
        devices = [
            DeviceCredential(f"loa-{i:02d}", hash_password(passwords[i]), ("thon-1",))
            for i in range(len(configs))
        ]
        write_credentials(broker_config, hash_password(new_password()), devices)
        broker = ManagedBroker(broker_config)
        broker.start()
        ca = tls.ensure_ca(broker_config.ca_directory)
        base = AgentConfig(
            device_id="x",
            zones=("thon-1",),
            station_url="https://127.0.0.1:8443",
            station_public_key="",
            mqtt_host="localhost",
            mqtt_username="x",  # each link has its own account: start_link
            mqtt_password=new_password(),
            mqtt_port=broker_config.tls_port or 0,
            mqtt_tls=True,
            mqtt_ca_pem=ca.pem,
            state_dir=work / "state",
        )
        links = [
            start_link(i, keepalive, heartbeat, base, work / "state", passwords[i])
            for i, (keepalive, heartbeat) in enumerate(configs)
        ]
        try:
            for link in links:
                link.transport.start()
            for link in links:
                if not link.transport.connected.wait(30):
                    raise SystemExit(f"agent with keepalive {link.keepalive_s} s did not connect")
                link.heartbeat.start()
            time.sleep(SETTLE_S)
            for link in links:
                link.connect = link.start = counters(link.local_port)
            sock = links[0].transport._client.socket()
            tls_version = sock.version() if isinstance(sock, ssl.SSLSocket) else None
            print(f"measuring {len(links)} idle links for {window_s:g} s", file=sys.stderr, flush=True)
            time.sleep(window_s)
            rows = []
            for link in links:
                assert link.start is not None and link.connect is not None
                spent = minus(counters(link.local_port), link.start)
                per_day = ip_bytes(spent) * DAY_S / window_s
                rows.append(
                    {
                        "keepalive_s": link.keepalive_s,
                        "heartbeat_s": link.heartbeat_s,
                        "offline_verdict_within_s": 1.5 * link.keepalive_s,
                        "window_s": window_s,
                        "tcp": spent,
                        "ip_bytes": ip_bytes(spent),
                        "ip_bytes_per_day": round(per_day),
                        "mb_per_month": round(per_day * MONTH_DAYS / 1e6, 1),
                        "connect_ip_bytes_incl_settle": ip_bytes(link.connect),
                    }
                )
        finally:
            for link in links:
                link.heartbeat.stop()
                link.transport.stop()
            broker.stop()
    return {"tls": tls_version, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--window-s", type=float, default=600.0)
    parser.add_argument(
        "--configs", default=DEFAULT_CONFIGS, help="keepalive/heartbeat pairs, comma-separated"
    )
    args = parser.parse_args()
    exit_cleanly_on_sigterm()
    configs = [(int(k), float(h)) for k, h in (pair.split("/") for pair in args.configs.split(","))]
    load_before = load_1m()
    result = measure(configs, args.window_s)
    emit(
        "link_cost",
        {
            "bench": "link_cost",
            "what": "idle agent link over TLS: IP bytes per day and per 30-day month, by keepalive/heartbeat",
            "ip_overhead_per_segment": IP_TCP_HEADER,
            **result,
            "load_1m": [load_before, load_1m()],
            "environment": environment(),
        },
    )


if __name__ == "__main__":
    main()
