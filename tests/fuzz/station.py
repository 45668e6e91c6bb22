"""A real station served by uvicorn on a free port, seeded with data, for fuzzing its HTTP surface."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import requests
import uvicorn
from fastapi import FastAPI
from sqlalchemy import select

from broadcast.app import create_app
from broadcast.config import Settings
from broadcast.fleet import devices
from broadcast.people import accounts
from broadcast.station import Station
from broadcast.storage.models import AuthToken, User
from tests.support.free_port import free_port
from tests.support.rate_limits import RAISED_RATE_LIMITS

PASSWORDS = {"quantri": "so-tay-cua-dai-xa", "canbo": "mat-khau-bien-tap", "chutich": "mat-khau-duyet-tin"}
ROLES = {"admin": "quantri", "editor": "canbo", "approver": "chutich"}


@dataclass
class FuzzStation:
    """The running app, its station (database, clips, broker) and a live bearer token per role."""

    url: str
    app: FastAPI
    server: uvicorn.Server
    thread: threading.Thread
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def station(self) -> Station:
        return cast(Station, self.app.state.station)

    def headers(self, role: str) -> dict[str, str]:
        """Return a bearer header for the role, issuing a new token if the fuzzer revoked the last one."""
        name = ROLES[role]
        with self.station.db.session() as session:
            secret = self.tokens.get(role)
            if secret is None or accounts.principal_for_token(session, secret, "api") is None:
                user = session.scalar(select(User).where(User.name == name))
                assert user is not None
                user.disabled = False
                secret = accounts.issue_token(session, name)
                self.tokens[role] = secret
        return {"Authorization": f"Bearer {secret}"}

    def call(self, method: str, path: str, role: str = "admin", **kwargs: Any) -> requests.Response:
        return requests.request(method, f"{self.url}{path}", headers=self.headers(role), timeout=60, **kwargs)

    def live_tokens(self) -> int:
        with self.station.db.session() as session:
            return len(list(session.scalars(select(AuthToken.id).where(AuthToken.revoked_at.is_(None)))))

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def start(tmp: Path, database_url: str) -> FuzzStation:
    """Start the station in this process (so tests can look into its database) behind real HTTP."""
    port = free_port()
    settings = Settings(
        data_dir=tmp / "var",
        database_url=database_url,
        mqtt_port=free_port(),
        mqtt_tls_port=free_port(),
        public_url=f"http://127.0.0.1:{port}",
        push_lead_s=1.0,
        quiet_hours="",  # the fuzzers book slots seconds ahead, at whatever hour the suite runs
        **RAISED_RATE_LIMITS,  # a fuzzer writes hundreds of times a second; limits: tests/test_rate_limit.py
    )
    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="fuzz-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise AssertionError("fuzz station did not start")
        time.sleep(0.05)
    fuzz = FuzzStation(f"http://127.0.0.1:{port}", app, server, thread)
    try:
        with fuzz.station.db.session() as session:
            for role, name in ROLES.items():
                accounts.add_user(session, name, role, PASSWORDS[name])
            devices.add_device(session, settings.broker, "loa-1", "thon-1", tmp / "s1", "file:p1", "test")
    except BaseException:
        fuzz.stop()
        raise
    return fuzz
