"""Live broadcast end to end: real Mosquitto, real snapserver, three agent processes (two in the zone)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from broadcast import protocol
from edge_agent.live import live_sha256
from tests.edge_agent.conftest import ClipServe
from tests.edge_agent.live_support import Feeder, Snapserver, live_start, live_stop, onset_s
from tests.edge_agent.programme_station import AgentProcess
from tests.edge_agent.test_alert_process import DEVICES, ZONE_A, ZONE_B, AlertStation
from tests.support.snapcast import require_snapserver

pytestmark = pytest.mark.integration

SKEW_S = 0.06  # generous on two shared cores; bench/live_agent.py measures the real figure


@pytest.fixture
def station(tmp_path: Path, serve_clips: ClipServe, station_key: tuple[bytes, str]) -> Iterator[AlertStation]:
    station = AlertStation(tmp_path, serve_clips, station_key)
    yield station
    station.close()


@pytest.fixture
def snapserver(tmp_path: Path) -> Iterator[Snapserver]:
    require_snapserver(client=True)  # the one check: under CI=true a missing tool fails
    server = Snapserver(tmp_path / "snapserver")
    yield server
    server.close()


def test_two_agents_of_the_zone_play_the_session_in_step(
    station: AlertStation, snapserver: Snapserver
) -> None:
    agents = {device: station.add_agent(device) for device in DEVICES}
    station.wait_for("all agents online", lambda: station.online() == set(DEVICES), timeout=15)
    feeder = Feeder(snapserver.source_port)
    try:
        start = live_start("phien-1", snapserver, zones=(ZONE_A,))
        station.send(start, protocol.zone_command_topic(ZONE_A))
        station.send(live_start("phien-1", snapserver, zones=(ZONE_A,)), protocol.zone_command_topic(ZONE_B))
        in_zone = [agents["loa-a1"], agents["loa-a2"]]
        station.wait_for("both joined", lambda: all(_lines(a, "live") for a in in_zone))
        feeder.tone()
        time.sleep(1.0)
        feeder.tone(False)
        stop = live_stop("phien-1", zones=(ZONE_A,))
        stopped = station.send(stop, protocol.zone_command_topic(ZONE_A))
        station.wait_for("both left", lambda: all(_lines(a, "live_end") for a in in_zone), timeout=5)
    finally:
        feeder.close()
    assert feeder.tone_at is not None
    heard = []
    for agent in in_zone:
        (live,), (end,) = _lines(agent, "live"), _lines(agent, "live_end")
        assert end["cause"] == "stopped" and end["ended_at"] - stopped < 1.5
        offset = onset_s(agent.directory / "plays" / live["file"])
        assert offset is not None
        heard.append(live["started_at"] + offset)
    assert all(0.1 < at - feeder.tone_at < 1.5 for at in heard), heard
    assert abs(heard[0] - heard[1]) < SKEW_S, heard
    assert not agents["loa-b1"].plays()  # another zone plays nothing
    reported = lambda: all(station.of(protocol.PlayReport, start.id, d) for d in ("loa-a1", "loa-a2"))  # noqa: E731
    station.wait_for("the play reports", reported)
    for device in ("loa-a1", "loa-a2"):
        (report,) = station.of(protocol.PlayReport, start.id, device)
        assert report.clip_sha256 == live_sha256("phien-1") and report.priority == "priority"


def _lines(agent: AgentProcess, kind: str) -> list[dict[str, Any]]:
    return [p for p in agent.plays() if p.get("kind") == kind]
