"""The station side of a simulated fleet: Mosquitto with per-device accounts, clip server, key, session."""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.simulator.ingest import Ingest
from bench.simulator.records import RAW_MARK, AgentSpec
from broadcast import protocol
from broadcast.mqtt.broker import BrokerConfig, ManagedBroker, wait_for_port, write_credentials
from broadcast.mqtt.client import MqttTarget, StationMqtt
from broadcast.mqtt.credentials import STATION_USER, DeviceCredential, hash_password, new_password


@dataclass(frozen=True)
class StationKey:
    """The station's Ed25519 key: public base64, and raw private bytes unless only the station holds it."""

    public_b64: str
    private_raw: bytes | None = None


def new_station_key() -> StationKey:
    """Return a fresh station key pair."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
    )

    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    private = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return StationKey(base64.b64encode(public).decode(), private)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class BenchStation:
    """The managed broker with the real passwd/ACL, an optional clip server, and the station's session."""

    def __init__(
        self,
        devices: list[AgentSpec],
        ingest: Ingest,
        *,
        key: StationKey | None = None,
        station_user: str = STATION_USER,
        extra_users: tuple[str, ...] = (),
        fetch: bool = False,
        station_url: str | None = None,
        tls: bool = False,
    ) -> None:
        self.devices = devices
        self.tls = tls
        self.device_port = 0  # where agents connect: the TLS listener with tls, else the plain one
        self.ca_pem = ""  # the generated CA agents pin (tls only)
        self.ingest = ingest
        self.key = key or new_station_key()
        self.station_user = station_user
        self.station_password = new_password()
        self.extra_passwords = {user: new_password() for user in extra_users}
        self.fetch = fetch
        self.port = 0
        self.station_url = station_url or ""  # given: a real station serves the clips there
        self.www: Path | None = None
        self._seq = itertools.count(1)
        self._broker: ManagedBroker | None = None
        self._clip_server: subprocess.Popen[bytes] | None = None
        self._session: StationMqtt | None = None

    @property
    def broker_pid(self) -> int | None:
        return self._broker.pid if self._broker else None

    def start(self, root: Path) -> None:
        """Write passwd + acl (one account per device, `%u` patterns), start Mosquitto, clips, the session.

        With tls the broker is configured as the station's managed one: devices on a TLS listener with
        a generated CA and server certificate, the station's accounts on a loopback plain listener.
        """
        self.port = free_port()
        tls_port = free_port() if self.tls else None
        config = BrokerConfig(directory=root / "broker", port=self.port, tls_port=tls_port)
        devices = [DeviceCredential(d.device_id, hash_password(d.password), d.zones) for d in self.devices]
        write_credentials(config, hash_password(self.station_password), devices)
        self._add_extra_users(config)
        self._broker = ManagedBroker(config)
        self._broker.start()
        self.device_port = tls_port or self.port
        if self.tls:
            self.ca_pem = (config.ca_directory / "ca.crt").read_text()
        self._start_clip_server(root / "www")
        self.session_on()

    def _add_extra_users(self, config: BrokerConfig) -> None:
        """Give bench-only accounts (observers) the station's rights; the registry knows none of them."""
        if not self.extra_passwords:
            return
        # With TLS they log in on the station's loopback listener, which reads the .local files.
        files = [(config.passwd_path, config.acl_path)]
        if self.tls:
            files.append((config.local_passwd_path, config.local_acl_path))
        for passwd_path, acl_path in files:
            with passwd_path.open("a") as passwd, acl_path.open("a") as acl:
                for user, password in self.extra_passwords.items():
                    passwd.write(f"{user}:{hash_password(password)}\n")
                    acl.write(f"\nuser {user}\ntopic readwrite {protocol.TOPIC_ROOT}/#\n")

    def _start_clip_server(self, www: Path) -> None:
        if self.station_url:
            return
        (www / "clips").mkdir(parents=True)
        self.www = www
        port = free_port() if self.fetch else 9  # without fetching no server is needed, only a URL
        self.station_url = f"http://127.0.0.1:{port}"
        if not self.fetch:
            return
        self._clip_server = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(www)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port("127.0.0.1", port, 10)

    def password(self, user: str) -> str:
        """Return the password of the station account or of a bench-only account."""
        return self.station_password if user == STATION_USER else self.extra_passwords[user]

    def mqtt_url(self, user: str = STATION_USER) -> str:
        """Return mqtt://user:password@127.0.0.1:port, e.g. for a station app run against this broker."""
        return f"mqtt://{user}:{self.password(user)}@127.0.0.1:{self.port}"

    def session_on(self) -> None:
        """Connect the station's session (persistent; it consumes agent messages into the ingest)."""
        if self._session is not None:
            return
        session = StationMqtt(
            MqttTarget("127.0.0.1", self.port, self.station_user, self.password(self.station_user))
        )
        session.on_agent_message(self.ingest)
        session.start()
        self._session = session

    def session_off(self) -> None:
        """Disconnect the station's session (so another consumer can be measured alone)."""
        if self._session is not None:
            self._session.stop()
            self._session = None

    def publish(self, topic: str, payload: bytes, expiry_s: float) -> None:
        """Publish as the station does: QoS1, message expiry, wait for the broker's PUBACK."""
        if self._session is None:
            raise RuntimeError("the station session is off")
        self._session.publish(topic, payload, expiry_s=expiry_s)

    def clip(self, size: int = 32 * 1024, duration_s: float = 5.0) -> protocol.ClipRef:
        """Return a new clip of random bytes (served over HTTP when agents fetch)."""
        data = os.urandom(size)
        sha = hashlib.sha256(data).hexdigest()
        if self.www is not None:
            (self.www / "clips" / f"{sha}.mp3").write_bytes(data)
        return protocol.ClipRef(f"{self.station_url}/clips/{sha}.mp3", sha, size, duration_s)

    def play_command(
        self,
        *,
        start_at: float,
        zones: tuple[str, ...],
        priority: protocol.Priority = "normal",
        expires_in: float = 60.0,
        clip: protocol.ClipRef | None = None,
        private_key: bytes | None = None,
    ) -> tuple[protocol.PlayCommand, bytes]:
        """Return a play command and its signed wire form (pass another private_key to forge one)."""
        now = time.time()
        command = protocol.PlayCommand(
            id=f"cmd-{time.time_ns()}",
            seq=next(self._seq),
            issued_at=now,
            expires_at=max(now, start_at) + expires_in,
            start_at=start_at,
            priority=priority,
            zones=zones,
            clip=clip or self.clip(),
            title="Cảnh báo bão khẩn cấp" if priority == "emergency" else "Thông báo của UBND xã",
        )
        key = private_key or self.key.private_raw
        if key is None:
            raise ValueError("the bench does not hold the station's private key")
        return command, protocol.sign_body(command.to_body(), key)

    @staticmethod
    def raw_probe(size: int) -> tuple[str, bytes]:
        """Return (probe id, payload) of exactly `size` bytes that agents only timestamp."""
        probe_id = f"raw-{time.time_ns()}"
        head = RAW_MARK + probe_id.encode() + b":"
        return probe_id, head + b"x" * max(0, size - len(head))

    def close(self) -> None:
        """Stop the session, the clip server and the broker."""
        self.session_off()
        if self._clip_server is not None:
            self._clip_server.terminate()
            self._clip_server.wait(10)
            self._clip_server = None
        if self._broker is not None:
            self._broker.stop()
            self._broker = None
