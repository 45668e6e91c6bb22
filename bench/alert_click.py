"""Click -> siren start: a real station process raises an alert over HTTP, simulated agents start the siren.

The station (`broadcast serve` in its own process, as in production: SQLite, espeak-ng, ffmpeg) runs
against the fleet's broker under a bench account with the station's rights; the fleet pins the station's
signing key, made in its data dir before it starts. Each round POSTs a new alert text to /api/alerts as an
approver; the timed span runs from just before the POST to each agent's siren start (the agent's decide +
ack, the siren being prefetched). The speech is synthesised after the siren went out and follows as
alert_speech, competing for the same two cores.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.simulator import Fleet, Outgoing
from broadcast import protocol
from broadcast.config import Settings
from broadcast.signing.keys import StationKeys
from tests.support.station import StationProcess

BENCH_USER = "bench-station"
STATION_URL = "http://127.0.0.1:9"  # agents never fetch: the siren is prefetched, the speech inline


class ClickFactory:
    """A MessageFactory that POSTs /api/alerts to a real station process (started on the first call)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="alert-click-"))
        self.data_dir = self.root / "var"
        self.public_key = StationKeys(Settings(data_dir=self.data_dir).secrets_dir).public_key_b64()
        self.post_ms: list[float] = []
        self._station: StationProcess | None = None
        self._token = ""
        self._count = 0

    def _start(self, fleet: Fleet) -> StationProcess:
        station = StationProcess(
            self.data_dir,
            extra_env={
                "BROADCAST_MQTT_URL": fleet.station.mqtt_url(BENCH_USER),
                "BROADCAST_PUBLIC_URL": STATION_URL,
            },
        )
        password = secrets.token_urlsafe(16)
        station.cli("user", "add", "chutich", "--role", "approver", "--password-stdin", stdin=password)
        station.cli(
            "device", "add", "loa-bench", "--zone", fleet.zones[0], "--out", str(self.root / "agent.toml")
        )
        self._token = station.cli("token", "create", "chutich").strip()
        station.start()
        self._station = station
        return station

    def __call__(self, fleet: Fleet) -> Outgoing:
        station = self._station or self._start(fleet)
        self._count += 1
        body = {"text": f"Lũ quét ở thượng nguồn, bà con sơ tán ngay! Lần {self._count}.", "repeat": 1}
        body["zones"] = [fleet.zones[0]]
        request = urllib.request.Request(
            f"{station.url}/api/alerts", data=json.dumps(body).encode(), method="POST"
        )
        request.add_header("Content-Type", "application/json")
        request.add_header("Authorization", f"Bearer {self._token}")
        began = time.perf_counter()
        with urllib.request.urlopen(request, timeout=30) as response:
            raised = json.loads(response.read())
        self.post_ms.append((time.perf_counter() - began) * 1000)
        command_id, size = self._command(raised["id"])
        return Outgoing(command_id, protocol.zone_command_topic(fleet.zones[0]), None, 60.0, None, size)

    def _command(self, alert_id: int) -> tuple[str, int]:
        """Return the id and signed size of the alert's (siren) command, read from the station's database."""
        with sqlite3.connect(f"file:{self.data_dir / 'broadcast.db'}?mode=ro", uri=True) as db:
            row = db.execute(
                "SELECT c.id, length(c.payload) FROM alerts a JOIN commands c ON c.id = a.command_id "
                "WHERE a.id = ?",
                (alert_id,),
            ).fetchone()
        if row is None:
            raise RuntimeError(f"alert {alert_id} was not sent")
        return str(row[0]), int(row[1])

    def close(self) -> None:
        """Stop the station process."""
        if self._station is not None:
            self._station.stop()
            self._station = None
