"""An in-process station (real database, real managed Mosquitto, real scheduler) behind a TestClient."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from broadcast.app import create_app
from broadcast.config import Settings
from broadcast.fleet import devices
from broadcast.people import accounts
from broadcast.station import Station
from tests.support.free_port import free_port
from tests.support.rate_limits import RAISED_RATE_LIMITS


@dataclass
class Api:
    client: TestClient
    station: Station
    editor: dict[str, str]
    approver: dict[str, str]


@pytest.fixture
def api(request: pytest.FixtureRequest, tmp_path: Path, migrated_database_url: str) -> Iterator[Api]:
    # No quiet hours unless the test names them (@pytest.mark.quiet_hours("22:00-05:00")): most tests
    # book slots seconds ahead, which the default would refuse whenever it is night in Vietnam.
    marker = request.node.get_closest_marker("quiet_hours")
    settings = Settings(
        data_dir=tmp_path / "var",
        database_url=migrated_database_url,  # SQLite or PostgreSQL (tests/conftest.py)
        mqtt_port=free_port(),
        mqtt_tls_port=free_port(),
        public_url="http://127.0.0.1:1",
        push_lead_s=1.0,
        quiet_hours=marker.args[0] if marker else "",
        # Tests write to every route in quick succession; the limits have their own tests
        # (tests/test_rate_limit.py). Raised, not switched off: the limiter still runs on every write.
        **RAISED_RATE_LIMITS,
    )
    with TestClient(create_app(settings)) as client:
        station: Station = client.app.state.station  # type: ignore[attr-defined]
        with station.db.session() as session:
            accounts.add_user(session, "canbo", "editor", "mat-khau-bien-tap")
            accounts.add_user(session, "chutich", "approver", "mat-khau-duyet-tin")
            devices.add_device(
                session, settings.broker, "loa-1", "thon-1", tmp_path / "s1", "file:p1", "test"
            )
            editor = accounts.issue_token(session, "canbo")
            approver = accounts.issue_token(session, "chutich")
        yield Api(
            client,
            station,
            {"Authorization": f"Bearer {editor}"},
            {"Authorization": f"Bearer {approver}"},
        )
