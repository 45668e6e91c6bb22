"""A real agent process through broker outages: how soon after the broker is back the station sees it online.

The agent is `python -m edge_agent.cli` as installed (agent.toml, TLS to the broker's device listener with
the pinned CA, a file sink for output). The station's side is a plain MQTT session under the station
account on the loopback listener, subscribed to the device's status topic; it reconnects every 0.1 s
so that it is never what is measured. Per outage: stop the broker, wait --outage-s, start it again, and
time from that start until the station receives an "online" status the agent published after it
(subscribed again and announced: what the station's device list shows).

Usage: python bench/reconnect_agent.py [--outage-s 90] [--repeat 3]
"""

from __future__ import annotations

import argparse
import base64
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # runnable as a script from anywhere

from bench.simulator.report import emit, environment, exit_cleanly_on_sigterm, load_1m  # noqa: E402
from broadcast import protocol  # noqa: E402
from broadcast.mqtt import tls  # noqa: E402
from broadcast.mqtt.broker import BrokerConfig, ManagedBroker, write_credentials  # noqa: E402
from broadcast.mqtt.credentials import STATION_USER, DeviceCredential, hash_password, new_password  # noqa: E402
from broadcast.protocol.backoff import RECONNECT  # noqa: E402
from edge_agent.config import AgentConfig, dump_config  # noqa: E402
from edge_agent.transport import KEEPALIVE_S  # noqa: E402
from tests.support.free_port import free_port  # noqa: E402

DEVICE, ZONE = "loa-01", "thon-1"


class StationView:
    """The station's view of the device: the monotonic time of each "online" status, with its ts."""

    def __init__(self, port: int, password: str) -> None:
        self.online: list[tuple[float, float]] = []  # (received, status ts)
        self._lock = threading.Lock()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=STATION_USER, protocol=MQTTProtocolVersion.MQTTv5
        )
        client.username_pw_set(STATION_USER, password)
        client.reconnect_delay_set(min_delay=0.1, max_delay=0.1)  # type: ignore[arg-type]  # floats work
        client.on_connect = lambda c, u, f, reason, p: c.subscribe(
            protocol.device_status_topic(DEVICE), qos=1
        )
        client.on_message = self._on_message
        client.connect_async("127.0.0.1", port)
        client.loop_start()
        self.client = client

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        status = protocol.parse_agent_message(bytes(message.payload), DEVICE)
        if isinstance(status, protocol.DeviceStatus) and status.state == "online":
            with self._lock:
                self.online.append((time.monotonic(), status.ts))

    def online_since(self, unix: float, timeout: float) -> float | None:
        """Wait for an online status published after `unix`; return when it arrived (monotonic)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                found = [received for received, ts in self.online if ts > unix]
            if found:
                return found[0]
            time.sleep(0.02)
        return None

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--outage-s", type=float, default=90.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    exit_cleanly_on_sigterm()
    load_before = load_1m()
    with tempfile.TemporaryDirectory(prefix="reconnect-agent-") as tmp:
        work = Path(tmp)
        config = BrokerConfig(directory=work / "mosquitto", port=free_port(), tls_port=free_port())
        station_password, device_password = new_password(), new_password()
        device = DeviceCredential(DEVICE, hash_password(device_password), (ZONE,))
        write_credentials(config, hash_password(station_password), [device])
        brokers = [ManagedBroker(config)]
        brokers[0].start()
        key = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        agent_config = AgentConfig(
            device_id=DEVICE,
            zones=(ZONE,),
            station_url="http://127.0.0.1:9",  # nothing to fetch in this bench
            station_public_key=base64.b64encode(key).decode(),
            mqtt_host="localhost",
            mqtt_port=config.tls_port or 0,
            mqtt_username=DEVICE,
            mqtt_password=device_password,
            mqtt_tls=True,
            mqtt_ca_pem=tls.ensure_ca(config.ca_directory).pem,
            state_dir=work / "state",
            output=f"file:{work / 'plays'}",
        )
        (work / "agent.toml").write_text(dump_config(agent_config), encoding="utf-8")
        with (work / "agent.log").open("ab") as log:
            agent = subprocess.Popen(
                [sys.executable, "-m", "edge_agent.cli", "--config", "agent.toml"],
                cwd=work,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        view = StationView(config.port, station_password)
        times: list[float] = []
        try:
            if view.online_since(0, 60) is None:
                raise SystemExit("the agent never came online: " + (work / "agent.log").read_text()[-2000:])
            for _ in range(args.repeat):
                brokers[-1].stop()
                time.sleep(args.outage_s)
                began, began_unix = time.monotonic(), time.time()
                brokers.append(ManagedBroker(config))
                brokers[-1].start()
                seen = view.online_since(began_unix, 120)
                if seen is None:
                    raise SystemExit("the agent did not come back within 120 s")
                times.append(round(seen - began, 2))
                print(f"back {times[-1]} s after the broker started", file=sys.stderr, flush=True)
                time.sleep(2.0)
        finally:
            view.close()
            agent.terminate()
            agent.wait(timeout=15)
            brokers[-1].stop()
    emit(
        f"reconnect_agent_{args.outage_s:g}s",
        {
            "bench": "reconnect_agent",
            "what": "broker outage; seconds from the broker's start until the station sees the agent online",
            "agent": "python -m edge_agent.cli, TLS, file sink",
            "keepalive_s": KEEPALIVE_S,
            "policy": {"base_s": RECONNECT.base_s, "cap_s": RECONNECT.cap_s},
            "outage_s": args.outage_s,
            "back_s": times,
            "max_s": max(times),
            "load_1m": [load_before, load_1m()],
            "environment": environment(),
        },
    )


if __name__ == "__main__":
    main()
