"""A login flood over loopback: refused before hashing, while an alert is published and the real admin
(whose browser logged in before) still gets in. Durations are measured in bench/alert_under_flood.py."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.security.login_support import (
    ADMIN,
    ADMIN_PASSWORD,
    Browser,
    LoginFlood,
    audit_rows,
    station_with_admin,
)
from tests.support.station import AgentProcess, StationProcess, running, wait_until

pytestmark = pytest.mark.integration


def _station(tmp_path: Path) -> tuple[StationProcess, AgentProcess, str]:
    # Real Argon2 cost (not the suite's cheap hashes): a flood that got past the guard would cost real CPU.
    station, token = station_with_admin(tmp_path / "station", BROADCAST_TEST_CHEAP_HASHES="0")
    config = tmp_path / "loa-1.toml"
    station.cli("device", "add", "loa-1", "--zone", "thon-1", "--out", str(config), "--state-dir", "s-1")
    return station, AgentProcess(config=config, plays_dir=tmp_path / "plays"), token


def test_login_flood_is_refused_while_an_alert_goes_out_and_the_admin_logs_in(tmp_path: Path) -> None:
    station, agent, token = _station(tmp_path)
    with running(station, agent):
        station.start()
        agent.start()
        assert wait_until(lambda: station.request("GET", "/api/devices", token)[1][0]["online"], 30)
        admin = Browser(station.url)
        assert admin.login(ADMIN, ADMIN_PASSWORD) == 303  # this browser now holds a device cookie
        assert "loa_device" in admin.cookies
        del admin.cookies["loa_session"]

        flood = LoginFlood(station.url, connections=40, limit=3000)
        flood.start()
        try:
            assert wait_until(lambda: flood.statuses[429] >= 100, 60), flood.statuses
            status, alert = station.request(
                "POST",
                "/api/alerts",
                token,
                {"text": "Lũ quét! Sơ tán ngay.", "zones": ["thon-1"], "repeat": 1},
            )
            assert status == 201, alert
            stranger = Browser(station.url)  # the admin's name from a browser without the cookie
            assert stranger.login(ADMIN, ADMIN_PASSWORD) == 429
            assert admin.login(ADMIN, ADMIN_PASSWORD) == 303  # the real admin is not locked out
            assert wait_until(lambda: any(p.get("kind") == "alert" for p in agent.plays()), 30), agent.plays()
            assert flood.sent < flood.limit, "the flood ended before the checks ran under it"
        finally:
            statuses = flood.stop()
        time.sleep(0.5)
        assert statuses[429] >= 100
        assert set(statuses) <= {401, 429, 503}, statuses  # refused, never an error
        # Per address: the burst and the refill are hashed, the rest refused before any hashing.
        assert statuses[401] <= 20, statuses
        assert len(audit_rows(station, "login.flood")) == 1  # one row per streak, not per attempt
        assert len(audit_rows(station, "login.failed")) == statuses[401]
        _, alert_now = station.request("GET", f"/api/alerts/{alert['id']}", token)
        assert alert_now["received"] == ["loa-1"] or alert_now["played"] == ["loa-1"], alert_now
