"""Measure the edge agent's memory and CPU: idle over a window, and during a play; print one JSON object.

A real Mosquitto (the station's ManagedBroker), real agent processes (one with the relay on gpiozero's
mock pins, one without a relay) and, in the same window, two baselines: a bare `python -c sleep` and a
bare paho client. RSS from /proc/<pid>/status, CPU from utime+stime in /proc/<pid>/stat.

Usage: python bench/agent_footprint.py [--idle-s 60] [--out bench/results/agent_footprint.json]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.server
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # runnable as a script from anywhere

from broadcast import protocol  # noqa: E402
from broadcast.mqtt.broker import BrokerConfig, ManagedBroker, write_credentials  # noqa: E402
from broadcast.mqtt.credentials import STATION_USER, DeviceCredential, hash_password, new_password  # noqa: E402
from edge_agent.config import AgentConfig, dump_config  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
ZONE = "thon-1"
CLIP_S = 10.0
TARGET_RSS_MB, TARGET_IDLE_CPU_PCT = 60.0, 1.0
PAHO_CLIENT = """
import sys, paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=sys.argv[1], protocol=MQTTProtocolVersion.MQTTv5)
c.username_pw_set(sys.argv[1], sys.argv[2])
c.connect("127.0.0.1", int(sys.argv[3]), keepalive=30)
c.loop_forever()
"""
IMPORT_PROBES = {
    "python": "pass",
    "paho": "import paho.mqtt.client",
    "cryptography_ed25519": "from cryptography.hazmat.primitives.asymmetric import ed25519",
    "gpiozero": "import gpiozero",
    "edge_agent.cli": "import edge_agent.cli",
    "edge_agent.cli+verify+gpiozero": "import edge_agent.cli, edge_agent.gpio.relay; "
    "from cryptography.hazmat.primitives.asymmetric import ed25519",
}


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    """Return a memory field of /proc/<pid>/status in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def cpu_ticks(pid: int) -> int:
    """Return utime + stime of a process in clock ticks."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may contain spaces
    return int(fields[11]) + int(fields[12])


def measure(pids: dict[str, int], seconds: float) -> dict[str, dict[str, float]]:
    """Sample RSS every second for `seconds`; return RSS median/max (MB) and CPU % of one core per name."""
    ticks = {name: cpu_ticks(pid) for name, pid in pids.items()}
    samples: dict[str, list[int]] = {name: [] for name in pids}
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        for name, pid in pids.items():
            samples[name].append(rss_kb(pid))
        time.sleep(min(1.0, max(0.0, seconds - (time.monotonic() - started))))
    wall = time.monotonic() - started
    return {
        name: {
            "rss_mb_median": round(statistics.median(samples[name]) / 1024, 1),
            "rss_mb_max": round(max(samples[name]) / 1024, 1),
            "cpu_pct": round(100 * (cpu_ticks(pid) - ticks[name]) / TICKS / wall, 3),
        }
        for name, pid in pids.items()
    }


def import_costs() -> dict[str, float]:
    """Return the RSS (MB) of a fresh interpreter after each probe's imports."""
    out = {}
    for name, code in IMPORT_PROBES.items():
        probe = (
            f"{code}\nfor l in open('/proc/self/status'):\n    l.startswith('VmRSS') and print(l.split()[1])"
        )
        done = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
        )
        out[name] = round(int(done.stdout.strip()) / 1024, 1)
    return out


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_clip(directory: Path) -> bytes:
    """Write a CLIP_S-second speech-like MP3 (48 kb/s mono) with the ffmpeg wheel; return its bytes."""
    import imageio_ffmpeg

    path = directory / "clip.mp3"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
         f"sine=frequency=440:duration={CLIP_S}:sample_rate=22050", "-ac", "1", "-c:a", "libmp3lame",
         "-b:a", "48k", str(path)],
        check=True, timeout=60,
    )  # fmt: skip
    return path.read_bytes()


def run(idle_s: float) -> dict[str, Any]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    tmp = Path(tempfile.mkdtemp(prefix="agent-footprint-"))
    (tmp / "www").mkdir()
    data = make_clip(tmp / "www")
    handler = partial(_QuietHandler, directory=str(tmp / "www"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}"

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes_raw()
    public = base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
    passwords = {name: new_password() for name in ("loa-relay", "loa-plain", "bench-paho", STATION_USER)}
    broker_config = BrokerConfig(directory=tmp / "broker", port=free_port())
    devices = [
        DeviceCredential(n, hash_password(p), (ZONE,)) for n, p in passwords.items() if n != STATION_USER
    ]
    write_credentials(broker_config, hash_password(passwords[STATION_USER]), devices)
    broker = ManagedBroker(broker_config)
    broker.start()
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        env = {**os.environ, "GPIOZERO_PIN_FACTORY": "mock", "PYTHONDONTWRITEBYTECODE": "1"}
        for device, pin in (("loa-relay", 17), ("loa-plain", None)):
            directory = tmp / device
            directory.mkdir()
            config = AgentConfig(
                device_id=device, zones=(ZONE,), station_url=base_url, station_public_key=public,
                mqtt_host="127.0.0.1", mqtt_port=broker_config.port, mqtt_username=device,
                mqtt_password=passwords[device], state_dir=directory / "state",
                output=f"file:{directory / 'plays'}", relay_pin=pin,
            )  # fmt: skip
            (directory / "agent.toml").write_text(dump_config(config))
            log = (directory / "agent.log").open("wb")
            processes[device] = subprocess.Popen(
                [sys.executable, "-m", "edge_agent.cli", "--config", str(directory / "agent.toml")],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        processes["baseline_sleep"] = subprocess.Popen(
            [sys.executable, "-c", f"import time; time.sleep({idle_s + 120})"]
        )
        processes["baseline_paho"] = subprocess.Popen(
            [
                sys.executable,
                "-c",
                PAHO_CLIENT,
                "bench-paho",
                passwords["bench-paho"],
                str(broker_config.port),
            ]
        )
        time.sleep(8)  # connected, first heartbeat sent, start-up imports done
        pids = {name: process.pid for name, process in processes.items()}
        at_start = {name: round(rss_kb(pid) / 1024, 1) for name, pid in pids.items()}

        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

        station = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=STATION_USER, protocol=MQTTProtocolVersion.MQTTv5
        )
        station.username_pw_set(STATION_USER, passwords[STATION_USER])
        station.connect("127.0.0.1", broker_config.port)
        station.loop_start()
        now = time.time()
        clip = protocol.ClipRef(f"{base_url}/clip.mp3", hashlib.sha256(data).hexdigest(), len(data), CLIP_S)
        command = protocol.PlayCommand("bench-play", 1, now, now + 120, now + 3, "normal", (ZONE,), clip)
        payload = protocol.sign_body(command.to_body(), private)
        station.publish(protocol.zone_command_topic(ZONE), payload, qos=1).wait_for_publish(5)
        # The window covers receiving, verifying, fetching, the relay pre-roll and the whole play.
        play = measure(pids, 3 + CLIP_S + 1)
        station.loop_stop()
        station.disconnect()
        played = {
            device: (tmp / device / "plays" / "plays.jsonl").exists() for device in ("loa-relay", "loa-plain")
        }
        # Idle is measured after the play: the steady state of an agent that has verified and fetched.
        idle = measure(pids, idle_s)
        peak = {name: round(rss_kb(pid, "VmHWM") / 1024, 1) for name, pid in pids.items()}
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            process.wait(15)
        broker.stop()
        server.shutdown()
    agent_idle, agent_play = idle["loa-relay"], play["loa-relay"]
    return {
        "python": platform.python_version(),
        "machine": f"{platform.machine()} {os.cpu_count()} cpu",
        "play_window_s": 3 + CLIP_S + 1,
        "idle_window_s": idle_s,
        "clip_s": CLIP_S,
        "output": "file sink (an ALSA play adds an ffmpeg | aplay pair of child processes, not counted here)",
        "processes": {
            "agent_with_relay": "edge-agent, relay on GPIO17 via gpiozero MockFactory",
            "agent_without_relay": "edge-agent, no relay (gpiozero not imported)",
            "baseline_sleep": "python -c 'import time; time.sleep(...)'",
            "baseline_paho": "bare paho-mqtt 2 client, MQTT 5, loop_forever",
        },
        "rss_mb_before_first_command": _renamed(at_start),
        "play": _renamed(play),
        "idle_after_play": _renamed(idle),
        "peak_rss_mb": _renamed(peak),
        "played": _renamed(played),
        "import_rss_mb": import_costs(),
        "targets": {"rss_mb": TARGET_RSS_MB, "idle_cpu_pct": TARGET_IDLE_CPU_PCT},
        "within_targets": max(agent_idle["rss_mb_max"], agent_play["rss_mb_max"]) <= TARGET_RSS_MB
        and agent_idle["cpu_pct"] <= TARGET_IDLE_CPU_PCT,
    }


def _renamed(values: dict[str, Any]) -> dict[str, Any]:
    names = {"loa-relay": "agent_with_relay", "loa-plain": "agent_without_relay"}
    return {names.get(name, name): value for name, value in values.items()}


def main() -> None:
    """Run the benchmark and print (and save) its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle-s", type=float, default=60.0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "agent_footprint.json")
    args = parser.parse_args()
    result = run(args.idle_s)
    text = json.dumps(result, indent=2, ensure_ascii=False)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
