"""An emergency alert typed into the station reaches real agents in its zones at once, and is acknowledged."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.integration.test_programme_offline import _station_with_agents
from tests.support.station import AgentProcess, running, wait_until

pytestmark = pytest.mark.integration


def test_alert_plays_on_its_zone_and_the_station_sees_every_ack(tmp_path: Path) -> None:
    station, agents, _editor, approver = _station_with_agents(tmp_path, 2)
    other = tmp_path / "loa-b.toml"
    station.cli("device", "add", "loa-b", "--zone", "thon-2", "--out", str(other), "--state-dir", "s-b")
    outsider = AgentProcess(config=other, plays_dir=tmp_path / "plays-b")
    with running(station, *agents, outsider):
        station.start()
        for agent in (*agents, outsider):
            agent.start()
        assert wait_until(
            lambda: all(d["online"] for d in station.request("GET", "/api/devices", approver)[1]), 20
        )
        time.sleep(2)  # programmes (with the prefetched siren) reach the agents
        posted = time.time()
        status, alert = station.request(
            "POST",
            "/api/alerts",
            approver,
            {"text": "Lũ quét! Sơ tán ngay.", "zones": ["thon-1"], "repeat": 1},
        )
        assert status == 201, alert
        assert alert["status"] == "sent"

        def played() -> bool:
            _, now = station.request("GET", f"/api/alerts/{alert['id']}", approver)
            return len(now["played"]) == 2 and len(now["received"]) == 2

        assert wait_until(played, 20), station.log_tail()
        for agent in agents:
            first = min(p["started_at"] for p in agent.plays() if p.get("kind") == "alert")
            assert first - posted < 2.0  # POST, synthesis and delivery included
        assert not any(p.get("kind") == "alert" for p in outsider.plays())
        _, final = station.request("GET", f"/api/alerts/{alert['id']}", approver)
        assert final["silent"] == []
