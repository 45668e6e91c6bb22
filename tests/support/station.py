"""Run a real station (and agents) as processes for integration tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.database import station_database_url
from tests.support.free_port import free_port

RENDER_CACHE_ENV = "BROADCAST_RENDER_CACHE"
CHEAP_HASHES_ENV = "BROADCAST_TEST_CHEAP_HASHES"


@dataclass
class StationProcess:
    """A `broadcast serve` process on its own ports and data dir."""

    data_dir: Path
    http_port: int = field(default_factory=free_port)
    mqtt_port: int = field(default_factory=free_port)
    mqtt_tls_port: int = field(default_factory=free_port)  # where agents connect (TLS)
    https_port: int | None = None  # the station's own HTTPS (None: off, so test stations never share 8443)
    extra_env: dict[str, str] = field(default_factory=dict)
    # None: the station's own SQLite file; under TEST_DATABASE=postgresql a fresh database per station.
    # Pass one URL to several stations to make them workers of one installation.
    database_url: str | None = field(default_factory=station_database_url)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def https_url(self) -> str:
        assert self.https_port, "this station serves no HTTPS (pass https_port=free_port())"
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BROADCAST_")}
        if cache := os.environ.get(RENDER_CACHE_ENV):  # the suite's shared render cache (tests/conftest.py)
            env[RENDER_CACHE_ENV] = cache
        if cheap := os.environ.get(CHEAP_HASHES_ENV):  # passwords hashed at test cost (tests/conftest.py)
            env[CHEAP_HASHES_ENV] = cheap
        env.update(
            BROADCAST_DATA_DIR=str(self.data_dir),
            BROADCAST_MQTT_PORT=str(self.mqtt_port),
            BROADCAST_MQTT_TLS_PORT=str(self.mqtt_tls_port),
            BROADCAST_PUBLIC_URL=self.url,
            BROADCAST_PUSH_LEAD_S="2",
            # No quiet hours unless a test sets them (extra_env): slots booked seconds ahead must not
            # depend on the hour the suite runs (the default 22:00-05:00 refuses them every evening).
            BROADCAST_QUIET_HOURS="",
            BROADCAST_HTTPS_PORT=str(self.https_port or 0),
        )
        if self.database_url is not None:
            env["BROADCAST_DATABASE_URL"] = self.database_url
        env.update(self.extra_env)
        return env

    def cli(self, *args: str, stdin: str = "") -> str:
        """Run a `broadcast` subcommand against this station's data dir and return stdout."""
        result = subprocess.run(
            [sys.executable, "-m", "broadcast.cli", *args],
            input=stdin.encode(),
            env=self.env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(f"broadcast {args} failed: {result.stderr.decode()}")
        return result.stdout.decode()

    def account(self, name: str, role: str, password: str, *, province: bool = False) -> str:
        """Add an account (`broadcast user add`) and return an API token of it (`broadcast token create`)."""
        scope = ("--province",) if province else ()
        self.cli("user", "add", name, "--role", role, *scope, "--password-stdin", stdin=f"{password}\n")
        return self.cli("token", "create", name).strip()

    def start(self, timeout: float = 30.0) -> None:
        log = (self.data_dir / "station.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "broadcast.cli", "serve", "--port", str(self.http_port)],
            env=self.env,
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"station exited early: {self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                    if response.status == 200 and self._https_listening():
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise AssertionError(f"station not healthy in {timeout} s: {self.log_tail()}")

    def _https_listening(self) -> bool:
        """True if HTTPS is off or its port accepts (it opens just after HTTP, once the app is up)."""
        if not self.https_port:
            return True
        try:
            socket.create_connection(("127.0.0.1", self.https_port), timeout=1).close()
        except OSError:
            return False
        return True

    def log_tail(self, lines: int = 40) -> str:
        path = self.data_dir / "station.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stop(self) -> None:
        if self.process:
            terminate(self.process, grace_s=15)

    def request(
        self, method: str, path: str, token: str | None = None, body: Any = None, raw: bytes | None = None
    ) -> tuple[int, Any]:
        """Call the API; return (status, parsed JSON or text)."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, payload = exc.code, exc.read()
        try:
            return status, json.loads(payload)
        except ValueError:
            return status, payload.decode(errors="replace")


@dataclass
class AgentProcess:
    """An `edge-agent` process with a file sink."""

    config: Path
    plays_dir: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.config.parent / f"{self.config.stem}.log").open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "edge_agent.cli",
                "--config",
                str(self.config),
                "--output",
                f"file:{self.plays_dir}",
            ],
            stdout=log,
            stderr=log,
        )

    def plays(self) -> list[dict[str, Any]]:
        path = self.plays_dir / "plays.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def stop(self) -> None:
        if self.process:
            terminate(self.process, grace_s=10)


def terminate(process: subprocess.Popen[bytes], grace_s: float = 5.0) -> None:
    """Stop a test's child process: SIGTERM, then SIGKILL if it is still there after `grace_s`."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@contextmanager
def running(*things: StationProcess | AgentProcess) -> Iterator[None]:
    """Stop every process on exit, even when the test failed."""
    try:
        yield
    finally:
        for thing in reversed(things):
            thing.stop()


def wait_until(predicate: Any, timeout: float, interval: float = 0.1) -> bool:
    """Poll predicate until it returns truthy or the timeout passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
