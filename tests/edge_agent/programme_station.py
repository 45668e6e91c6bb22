"""A test station for programme tests: restartable Mosquitto, stoppable clip server, real agent processes."""

from __future__ import annotations

import functools
import hashlib
import http.server
import itertools
import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from broadcast import protocol
from broadcast.mqtt.broker import BrokerConfig, ManagedBroker, write_credentials
from broadcast.mqtt.credentials import STATION_USER, DeviceCredential, hash_password, new_password
from edge_agent.config import AgentConfig, dump_config
from tests.support.free_port import free_port

ZONE = "thon-1"
CLIP_SECONDS = 2.0
_SEQ = itertools.count(1)


def make_sine_mp3(path: Path) -> Path:
    """Write a real 2 s MP3 (440 Hz sine, libmp3lame) to path and return it."""
    import imageio_ffmpeg

    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    sine = "sine=frequency=440:duration=2:sample_rate=22050"
    encode = ["-ac", "1", "-c:a", "libmp3lame", "-b:a", "48k", str(path)]
    subprocess.run(
        [ffmpeg, "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", sine, *encode], check=True, timeout=60
    )
    return path


def next_seq(skip: int = 0) -> int:
    """Return the next command sequence number, as the station's counter would (agents refuse reuse).

    skip: numbers the station used meanwhile for other commands (other zones, other devices).
    """
    for _ in range(skip):
        next(_SEQ)
    return next(_SEQ)


class AgentProcess:
    """One `edge-agent` process with a file sink; its log goes to a file shown when a wait fails."""

    def __init__(self, directory: Path, log_level: str = "INFO") -> None:
        self.directory = directory
        self.log_level = log_level
        self.log_path = directory / "agent.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "edge_agent.cli",
                    "--config",
                    "agent.toml",
                    "--log-level",
                    self.log_level,
                ],
                cwd=self.directory,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        """SIGKILL, like a power cut as far as the agent's own process goes."""
        self.stop(signal.SIGKILL)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int | None:
        """Signal the agent and wait for it; return its exit code (None if it never ran)."""
        process = self.process
        if process is None or process.poll() is not None:
            return process.returncode if process else None
        process.send_signal(sig)
        try:
            return process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait(timeout=5)

    def plays(self, command_id: str | None = None) -> list[dict[str, Any]]:
        path = self.directory / "plays" / "plays.jsonl"
        lines = path.read_text().splitlines() if path.exists() else []
        plays = [json.loads(line) for line in lines]
        return [p for p in plays if command_id is None or p["command_id"] == command_id]

    def programme_version(self) -> int | None:
        path = self.directory / "state" / "programmes.json"
        if not path.exists():
            return None
        zones = json.loads(path.read_bytes())["zones"]
        return int(zones[ZONE]["version"]) if ZONE in zones else None

    def tail(self) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])
        except OSError:
            return "(no log)"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class ProgrammeStation:
    """Broker, clip server, signing key and a station subscriber whose session outlives broker restarts."""

    def __init__(
        self,
        root: Path,
        devices: list[str],
        mp3: Path,
        key: tuple[bytes, str],
        handler: type[http.server.SimpleHTTPRequestHandler] | None = None,
    ) -> None:
        self.root, self.key = root, key
        self.messages: list[protocol.AgentMessage] = []
        self.changed = threading.Condition()
        self.agents: dict[str, AgentProcess] = {}
        www = root / "www" / "clips"
        www.mkdir(parents=True)
        data = mp3.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        shutil.copy(mp3, www / f"{sha}.mp3")
        serve = functools.partial(handler or _Quiet, directory=str(root / "www"))
        self.clip_server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), serve)
        threading.Thread(target=self.clip_server.serve_forever, args=(0.05,), daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self.clip_server.server_address[1]}"
        self.clip = protocol.ClipRef(f"{self.base_url}/clips/{sha}.mp3", sha, len(data), CLIP_SECONDS)
        password = new_password()
        self.device_passwords = {device: new_password() for device in devices}
        self.broker_config = BrokerConfig(directory=root / "broker", port=free_port())
        write_credentials(
            self.broker_config,
            hash_password(password),
            [DeviceCredential(d, hash_password(p), (ZONE,)) for d, p in self.device_passwords.items()],
        )
        self.broker: ManagedBroker | None = None
        self.start_broker()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=STATION_USER, protocol=MQTTProtocolVersion.MQTTv5
        )
        self.client.username_pw_set(STATION_USER, password)
        self.client.on_message = self._on_message
        self.client.on_connect = self._on_connect
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = 600  # reports published while we reconnect are kept for us
        self.client.connect("127.0.0.1", self.broker_config.port, clean_start=False, properties=properties)
        self.client.loop_start()

    def start_broker(self) -> None:
        self.broker = ManagedBroker(self.broker_config)
        self.broker.start()

    def stop_broker(self) -> None:
        if self.broker is not None:
            self.broker.stop()  # SIGTERM: Mosquitto saves retained messages and sessions
            self.broker = None

    def stop_clips(self) -> None:
        self.clip_server.shutdown()
        self.clip_server.server_close()

    def add_agent(self, device_id: str) -> AgentProcess:
        directory = self.root / device_id
        directory.mkdir(exist_ok=True)  # a test may mount a small file system on its state dir first
        config = AgentConfig(
            device_id=device_id,
            zones=(ZONE,),
            station_url=self.base_url,
            station_public_key=self.key[1],
            mqtt_host="127.0.0.1",
            mqtt_port=self.broker_config.port,
            mqtt_username=device_id,
            mqtt_password=self.device_passwords[device_id],
            state_dir=Path("state"),
            output="file:plays",
            heartbeat_interval_s=600.0,
        )
        (directory / "agent.toml").write_text(dump_config(config))
        self.agents[device_id] = agent = AgentProcess(directory)
        agent.start()
        return agent

    def entry(self, start_at: float, command_id: str) -> tuple[protocol.PlayCommand, str]:
        """Return a signed play command (as a programme entry string) for the clip at start_at."""
        command = protocol.PlayCommand(
            id=command_id,
            seq=next_seq(),
            issued_at=time.time(),
            expires_at=start_at + 30,
            start_at=start_at,
            priority="normal",
            zones=(ZONE,),
            clip=self.clip,
            title="Chương trình phát thanh xã",
        )
        return command, protocol.sign_body(command.to_body(), self.key[0]).decode()

    def publish_programme(self, version: int, entries: list[str]) -> None:
        """Sign and publish the zone's programme retained (QoS1), as the station does."""
        now = time.time()
        programme = protocol.ProgrammeMessage(
            id=f"prog-{ZONE}-{version}",
            seq=version,
            issued_at=now,
            expires_at=now + 3600,
            zone=ZONE,
            version=version,
            window_start=now,
            window_end=now + 48 * 3600,
            entries=tuple(entries),
        )
        payload = protocol.sign_body(programme.to_body(), self.key[0])
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        properties.MessageExpiryInterval = 3600
        topic = protocol.zone_programme_topic(ZONE)
        self.client.publish(topic, payload, qos=1, retain=True, properties=properties).wait_for_publish(5)

    def reports(self, kind: type[protocol.AgentMessage], command_id: str) -> list[Any]:
        with self.changed:
            return [
                m for m in self.messages if isinstance(m, kind) and getattr(m, "command_id", "") == command_id
            ]

    def online(self, device_id: str) -> bool:
        with self.changed:
            states = [
                m.state
                for m in self.messages
                if isinstance(m, protocol.DeviceStatus) and m.device_id == device_id
            ]
        return bool(states) and states[-1] == "online"

    def wait_for(self, what: str, check: Callable[[], bool], timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not check():
                if time.monotonic() > deadline:
                    logs = "\n".join(f"--- {d}\n{a.tail()}" for d, a in list(self.agents.items())[:3])
                    pytest.fail(f"timed out waiting for {what}\n{logs}")
                self.changed.wait(0.05)

    def close(self) -> None:
        for agent in self.agents.values():
            agent.kill()
        self.client.loop_stop()
        self.client.disconnect()
        self.stop_broker()
        self.stop_clips()

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: ReasonCode, properties: Any
    ) -> None:
        client.subscribe([(protocol.STATUS_SUBSCRIPTION, 1), (protocol.EVENT_SUBSCRIPTION, 1)])

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        parsed = protocol.parse_agent_message(
            bytes(message.payload), protocol.device_id_from_topic(message.topic)
        )
        with self.changed:
            self.messages.append(parsed)
            self.changed.notify_all()
