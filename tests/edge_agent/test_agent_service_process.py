"""The installed unit's service command, run without systemd: a real agent process, Mosquitto and clip server.

One process exercises the Pi side end to end: READY/WATCHDOG on a notify socket, heartbeats, a signed
volume command reaching a recording `amixer`, a test tone and a clip played with the relay (mock pins)
pre-rolled, a clean SIGTERM, the ExecStopPost fail-safe, and no file written outside the state dir.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from broadcast import protocol
from broadcast.mqtt.broker import BrokerConfig, ManagedBroker, write_credentials
from broadcast.mqtt.credentials import STATION_USER, DeviceCredential, hash_password, new_password
from edge_agent.config import AgentConfig, dump_config
from tests.support.free_port import free_port
from tests.support.timing import ON_TIME_S

pytestmark = pytest.mark.integration

INSTALL_SH = Path(__file__).resolve().parents[2] / "edge_agent" / "install" / "install.sh"
DEVICE, ZONE = "loa-01", "thon-1"
PRE_ROLL_S = 0.5

# Runs the agent's CLI with an audit hook that reports every file write, so the test can check that
# nothing is written outside the state dir (what a read-only root file system requires).
AUDITED_AGENT = r"""
import os, sys
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_PATH_EVENTS = {"os.mkdir": 0, "os.rmdir": 0, "os.remove": 0, "os.rename": 1, "os.utime": 0, "os.chmod": 0,
                "os.truncate": 0, "os.symlink": 1, "os.link": 1, "shutil.copyfile": 1}

def _hook(event, args):
    if event == "open":
        path, mode, flags = args
        if not ((mode and any(c in mode for c in "wax+")) or (flags and flags & _WRITE_FLAGS)):
            return
    elif event in _PATH_EVENTS:
        path = args[_PATH_EVENTS[event]]
    else:
        return
    if isinstance(path, (str, bytes, os.PathLike)):
        sys.stderr.write(f"AUDIT-WRITE {event} {os.path.abspath(os.fsdecode(path))}\n")

sys.addaudithook(_hook)
sys.argv = ["edge-agent", *sys.argv[1:]]
from edge_agent.cli import main
sys.exit(main())
"""

FAKE_AMIXER = """#!/bin/sh
printf '%s\\t' "$@" >> "{log}"
echo >> "{log}"
"""


class Station:
    """Broker with credentials, a clip server, a signing key, and a client collecting agent messages."""

    def __init__(self, root: Path, base_url: str, key: bytes) -> None:
        self.key = key
        self.base_url = base_url
        self.messages: list[protocol.AgentMessage] = []
        self.lock = threading.Lock()
        password = new_password()
        self.device_password = new_password()
        self.broker_config = BrokerConfig(directory=root / "broker", port=free_port())
        write_credentials(
            self.broker_config,
            hash_password(password),
            [DeviceCredential(DEVICE, hash_password(self.device_password), (ZONE,))],
        )
        self.broker = ManagedBroker(self.broker_config)
        self.broker.start()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=STATION_USER, protocol=MQTTProtocolVersion.MQTTv5
        )
        self.client.username_pw_set(STATION_USER, password)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", self.broker_config.port)
        self.client.subscribe([(protocol.STATUS_SUBSCRIPTION, 1), (protocol.EVENT_SUBSCRIPTION, 1)])
        self.client.loop_start()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        parsed = protocol.parse_agent_message(
            bytes(message.payload), protocol.device_id_from_topic(message.topic)
        )
        with self.lock:
            self.messages.append(parsed)

    def of(self, kind: type[Any]) -> list[Any]:
        with self.lock:
            return [m for m in self.messages if isinstance(m, kind)]

    def send(self, command: protocol.Command) -> None:
        payload = protocol.sign_body(command.to_body(), self.key)
        self.client.publish(protocol.zone_command_topic(ZONE), payload, qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
        self.broker.stop()


@pytest.fixture
def station(
    tmp_path: Path,
    serve_clips: Callable[[Path, list[str]], str],
    mp3_clip: Path,
    station_key: tuple[bytes, str],
) -> Iterator[Station]:
    www = tmp_path / "www" / "clips"
    www.mkdir(parents=True)
    shutil.copy(mp3_clip, www / "clip.mp3")
    station = Station(tmp_path, serve_clips(tmp_path / "www", []), station_key[0])
    yield station
    station.close()


def _unit_settings(unit: str) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in unit.splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            settings.setdefault(key, []).append(value)
    return settings


def _log_time(line: str) -> float:
    """Return the unix time of a log line ("2025-06-01 10:00:00,123 INFO ...")."""
    stamp = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
    return stamp.timestamp()


def _wait(what: str, check: Callable[[], bool], timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.05)


def test_installed_service_command_runs_the_pi_side(
    tmp_path: Path, station: Station, station_key: tuple[bytes, str], mp3_clip: Path
) -> None:
    root = tmp_path / "root"
    config = AgentConfig(
        device_id=DEVICE, zones=(ZONE,), station_url=station.base_url, station_public_key=station_key[1],
        mqtt_host="127.0.0.1", mqtt_port=station.broker_config.port, mqtt_username=DEVICE,
        mqtt_password=station.device_password, state_dir=Path("unused"), relay_pin=17,
        relay_pre_roll_s=PRE_ROLL_S, relay_hold_s=0.5, heartbeat_interval_s=1.0,
    )  # fmt: skip
    (tmp_path / "agent.toml").write_text(dump_config(config))
    environ = {**os.environ, "ROOT": str(root), "LOA_SKIP_PIP": "1", "PYTHON": sys.executable}
    environ["OUTPUT"] = "file:/var/lib/loa-agent/plays"
    done = subprocess.run(
        ["bash", str(INSTALL_SH), "--config", str(tmp_path / "agent.toml")], env=environ, capture_output=True,
        text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr

    def mapped(value: str) -> str:
        for path in ("/etc/loa-agent", "/var/lib/loa-agent"):
            value = value.replace(path, f"{root}{path}")
        return value

    unit = _unit_settings((root / "etc/systemd/system/loa-agent.service").read_text())
    exec_start = shlex.split(mapped(unit["ExecStart"][0]))
    state = Path(mapped(unit["WorkingDirectory"][0]))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "amixer").write_text(FAKE_AMIXER.format(log=tmp_path / "amixer.log"))
    (bin_dir / "amixer").chmod(0o755)
    notify_dir = tempfile.mkdtemp(prefix="sdn-")  # AF_UNIX paths must stay under 108 bytes
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(os.path.join(notify_dir, "notify"))
    notify.settimeout(0.05)
    notes: list[str] = []
    listening = threading.Event()
    listening.set()

    def listen() -> None:
        # Read continuously, as systemd does: a full datagram queue would stall the sender.
        while listening.is_set():
            try:
                notes.append(notify.recv(4096).decode())
            except TimeoutError:
                continue

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFY_", "WATCHDOG_"))}
    env |= dict(mapped(value).split("=", 1) for value in unit["Environment"])
    env |= {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "GPIOZERO_PIN_FACTORY": "mock",
        "NOTIFY_SOCKET": os.path.join(notify_dir, "notify"),
        "WATCHDOG_USEC": "1000000",  # a ping every 0.5 s
        "HOME": str(tmp_path / "home"),
    }
    log_path = tmp_path / "agent.log"
    with log_path.open("wb") as log:
        agent = subprocess.Popen(
            [sys.executable, "-c", AUDITED_AGENT, *exec_start[1:], "--log-level", "DEBUG"],
            cwd=state, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def received(text: str) -> bool:
        return any(text in note for note in list(notes))

    try:
        _wait("READY=1", lambda: received("READY=1"), 15, log_path)
        assert any("STATUS=connected to the broker" in note for note in notes)
        _wait("two heartbeats", lambda: len(station.of(protocol.Heartbeat)) >= 2, 10, log_path)
        assert received("WATCHDOG=1")
        now = time.time()
        station.send(protocol.VolumeCommand("vol-1", 1, now, now + 60, (ZONE,), 45))
        _wait(
            "volume in a heartbeat",
            lambda: any(b.volume == 45 for b in station.of(protocol.Heartbeat)),
            5,
            log_path,
        )
        data = mp3_clip.read_bytes()
        clip = protocol.ClipRef(
            f"{station.base_url}/clips/clip.mp3", hashlib.sha256(data).hexdigest(), len(data), 2.0
        )
        now = time.time()
        play = protocol.PlayCommand(
            "play-1", 2, now, now + 60, now + 2.0, "normal", (ZONE,), clip, title="Tin"
        )
        tone = protocol.TestToneCommand("tone-1", 3, now, now + 60, now + 4.5, (ZONE,), 0.5, 1000.0)
        station.send(play)
        station.send(tone)
        _wait("both plays reported", lambda: len(station.of(protocol.PlayReport)) == 2, 10, log_path)
        _wait("relay off after the hold", lambda: "amplifier relay off" in log_path.read_text(), 5, log_path)
    finally:
        agent.send_signal(signal.SIGTERM)
        code = agent.wait(15)
        time.sleep(0.1)
        listening.clear()
        listener.join(2)
        notify.close()
        shutil.rmtree(notify_dir)
    text = log_path.read_text()
    assert code == 0, text[-3000:]
    assert any("STOPPING=1" in note for note in notes)

    beat = station.of(protocol.Heartbeat)[-1]
    assert (beat.device_id, beat.link.type in protocol.LinkType.__args__) == (DEVICE, True)  # type: ignore[attr-defined]
    assert beat.disk_free_bytes > 0 and beat.cache_bytes == len(data) and beat.agent_uptime_s > 1
    amixer_calls = (tmp_path / "amixer.log").read_text().splitlines()
    assert "-M\t-q\tsset\tPCM\t45%\tunmute\t" in amixer_calls

    plays = [json.loads(line) for line in (state / "plays" / "plays.jsonl").read_text().splitlines()]
    assert [p["command_id"] for p in plays] == ["play-1", "tone-1"]
    assert (
        abs(plays[0]["started_at"] - play.start_at) < ON_TIME_S
        and abs(plays[1]["started_at"] - tone.start_at) < ON_TIME_S
    )
    # The relay stays on from pre-roll before the clip through the tone 0.5 s later (hold 0.5 s), then off.
    lines = text.splitlines()
    relay = [
        (_log_time(line), "on" if "relay on" in line else "off")
        for line in lines
        if "amplifier relay o" in line
    ]
    assert [state_ for _, state_ in relay[:2]] == ["on", "off"], relay
    assert abs(plays[0]["started_at"] - relay[0][0] - PRE_ROLL_S) < ON_TIME_S
    assert relay[1][0] > plays[1]["started_at"] + 0.5

    writes = [line.split(" ", 2)[2] for line in lines if line.startswith("AUDIT-WRITE ")]
    assert any(path.endswith("seen.jsonl") for path in writes)  # the hook does see the agent's writes
    outside = [path for path in writes if not path.startswith(str(state)) and path != "/dev/null"]
    assert outside == [], outside

    post = shlex.split(mapped(unit["ExecStopPost"][0]))
    done = subprocess.run(
        [sys.executable, *post[1:]],
        env={**env, "NOTIFY_SOCKET": ""},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE((root / "etc/loa-agent/agent.toml").stat().st_mode) == 0o640
