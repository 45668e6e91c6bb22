"""Click -> siren start: the real station app raises an alert over HTTP, simulated agents start the siren.

The station (FastAPI app in this process, real SQLite, espeak-ng, ffmpeg) runs against the fleet's broker
under a bench account with the station's rights; the fleet pins the app's signing key. Each round POSTs a
new alert text to /api/alerts as an approver; the timed span runs from just before the POST to each
agent's siren start (the agent's decide + ack, the siren being prefetched). The speech is synthesised
after the siren went out and follows as alert_speech, competing for the same two cores.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from bench.simulator import Fleet, Outgoing
from broadcast import accounts, devices, protocol
from broadcast.app import create_app
from broadcast.config import Settings
from broadcast.keys import StationKeys
from broadcast.storage.models import Alert, Command

BENCH_USER = "bench-station"
STATION_URL = "http://127.0.0.1:9"  # agents never fetch: the siren is prefetched, the speech inline


class ClickFactory:
    """A MessageFactory that POSTs /api/alerts to a real station app (started on the first call)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="alert-click-"))
        self.settings_base: dict[str, Any] = {"data_dir": self.root / "var", "quiet_hours": ""}
        self.public_key = StationKeys(Settings(**self.settings_base).secrets_dir).public_key_b64()
        self.post_ms: list[float] = []
        self._client: TestClient | None = None
        self._headers: dict[str, str] = {}
        self._count = 0

    def _start(self, fleet: Fleet) -> TestClient:
        settings = Settings(
            **self.settings_base, mqtt_url=fleet.station.mqtt_url(BENCH_USER), public_url=STATION_URL
        )
        client = TestClient(create_app(settings))
        client.__enter__()
        station = client.app.state.station  # type: ignore[attr-defined]
        with station.db.session() as session:
            accounts.add_user(session, "chutich", "approver", "mat-khau-duyet-tin")
            devices.add_device(
                session, settings, "loa-bench", fleet.zones[0], self.root / "s", "file:p", "bench"
            )
            self._headers = {"Authorization": f"Bearer {accounts.issue_token(session, 'chutich')}"}
        self._client = client
        return client

    def __call__(self, fleet: Fleet) -> Outgoing:
        client = self._client or self._start(fleet)
        self._count += 1
        body = {"text": f"Lũ quét ở thượng nguồn, bà con sơ tán ngay! Lần {self._count}.", "repeat": 1}
        body["zones"] = [fleet.zones[0]]
        began = time.perf_counter()
        response = client.post("/api/alerts", json=body, headers=self._headers)
        self.post_ms.append((time.perf_counter() - began) * 1000)
        if response.status_code != 201:
            raise RuntimeError(f"POST /api/alerts: {response.status_code} {response.text}")
        station = client.app.state.station  # type: ignore[attr-defined]
        with station.db.session() as session:
            alert = session.get(Alert, response.json()["id"])
            assert alert is not None and alert.command_id is not None
            payload = session.get(Command, alert.command_id)
            size = len(payload.payload) if payload else 0
            command_id = alert.command_id
        return Outgoing(command_id, protocol.zone_command_topic(fleet.zones[0]), None, 60.0, None, size)

    def close(self) -> None:
        """Stop the station app."""
        if self._client is not None:
            self._client.__exit__(None, None, None)
            self._client = None
