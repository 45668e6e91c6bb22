"""Fixtures for the edge agent tests: a station signing key, signed commands, a clip HTTP server."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import http.server
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from broadcast import protocol
from edge_agent.config import AgentConfig, dump_config
from tests.edge_agent.programme_station import next_seq

ClipServe = Callable[[Path, list[str]], str]


def new_keypair() -> tuple[bytes, str]:
    """Return (raw private key, base64 raw public key) for a fresh Ed25519 station key."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return private, base64.b64encode(public).decode()


@pytest.fixture(scope="session")
def station_key() -> tuple[bytes, str]:
    """Return the test station's key pair."""
    return new_keypair()


@pytest.fixture(scope="session")
def other_key() -> tuple[bytes, str]:
    """Return a key pair the agents do not trust (a forger's)."""
    return new_keypair()


@pytest.fixture
def make_body() -> Callable[..., dict[str, Any]]:
    """Return a builder of valid play-command bodies; keyword arguments override fields."""

    def make(**overrides: Any) -> dict[str, Any]:
        now = time.time()
        data = b"not really mp3"
        command = protocol.PlayCommand(
            id=f"cmd-{time.monotonic_ns()}",
            seq=next_seq(),
            issued_at=now,
            expires_at=now + 60,
            start_at=now + 5,
            priority="normal",
            zones=("thon-1",),
            clip=protocol.ClipRef(
                url="http://127.0.0.1:8080/clips/a.mp3",
                sha256=hashlib.sha256(data).hexdigest(),
                size=len(data),
                duration_s=2.0,
            ),
            title="Thông báo",
        )
        return {**command.to_body(), **overrides}

    return make


@pytest.fixture
def agent_config(tmp_path: Path, station_key: tuple[bytes, str]) -> AgentConfig:
    """Return a config for device loa-01 in zones thon-1 and thon-2 trusting the test station."""
    return AgentConfig(
        device_id="loa-01",
        zones=("thon-1", "thon-2"),
        station_url="http://127.0.0.1:8080",
        station_public_key=station_key[1],
        mqtt_host="127.0.0.1",
        mqtt_port=1883,
        mqtt_username="loa-01",
        mqtt_password="secret",
        state_dir=tmp_path / "state",
        output=f"file:{tmp_path / 'plays'}",
    )


@pytest.fixture
def agent_toml(agent_config: AgentConfig) -> Callable[..., Path]:
    """Return write(path, **changes) -> path: agent_config with changes, as agent.toml."""

    def write(path: Path, **changes: Any) -> Path:
        path.write_text(dump_config(dataclasses.replace(agent_config, **changes)), encoding="utf-8")
        return path

    return write


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serve files without logging every request to stderr, and record request paths."""

    requests: list[str]

    def __init__(self, *args: Any, requests: list[str], **kwargs: Any) -> None:
        self.requests = requests
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        self.requests.append(self.path)
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def serve_clips() -> Iterator[ClipServe]:
    """Return serve(directory, request_log) -> base URL; servers run in threads until the session ends."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def serve(directory: Path, requests: list[str]) -> str:
        handler = partial(_QuietHandler, directory=str(directory), requests=requests)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        # A short poll interval: shutdown() waits up to one interval per server.
        threading.Thread(target=server.serve_forever, args=(0.05,), name="clip-server", daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def mp3_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a real 2 s MP3 (440 Hz sine) encoded with libmp3lame."""
    import imageio_ffmpeg

    path = tmp_path_factory.mktemp("audio") / "sine.mp3"
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-nostdin",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=2:sample_rate=22050",
            "-ac",
            "1",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "48k",
            str(path),
        ],
        check=True,
        timeout=60,
    )
    return path
