"""Offline-first programme, real processes: a station crash or a dead broker never loses or doubles a play."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.station import AgentProcess, StationProcess, running, wait_until

pytestmark = pytest.mark.integration

TEXT = "Thông báo: chiều nay 15h, xã tổ chức ra quân làm vệ sinh môi trường. Đề nghị bà con tham gia đầy đủ."


ON_TIME_S = 1.5  # the slot, not its neighbourhood; precision is measured in bench/sync_start.py


def _station_with_agents(tmp_path: Path, count: int) -> tuple[StationProcess, list[AgentProcess], str, str]:
    station = StationProcess(tmp_path / "station")
    station.data_dir.mkdir()
    agents = []
    for n in range(count):
        config = tmp_path / f"loa-{n}.toml"
        station.cli(
            "device", "add", f"loa-{n}", "--zone", "thon-1", "--out", str(config), "--state-dir", f"s-{n}"
        )
        agents.append(AgentProcess(config=config, plays_dir=tmp_path / f"plays-{n}"))
    station.cli("user", "add", "canbo", "--role", "editor", "--password-stdin", stdin="mat-khau-bien-tap\n")
    station.cli(
        "user", "add", "chutich", "--role", "approver", "--password-stdin", stdin="mat-khau-duyet-tin\n"
    )
    return (
        station,
        agents,
        station.cli("token", "create", "canbo").strip(),
        station.cli("token", "create", "chutich").strip(),
    )


def _schedule(station: StationProcess, editor: str, approver: str, seconds_ahead: float) -> tuple[float, str]:
    status, bulletin = station.request(
        "POST", "/api/bulletins", editor, {"title": "Vệ sinh", "text": TEXT, "zones": ["thon-1"]}
    )
    assert status == 201, bulletin
    assert station.request("POST", f"/api/bulletins/{bulletin['id']}/approve", approver)[0] == 200
    start = round(time.time() + seconds_ahead, 3)
    body = {"bulletin_id": bulletin["id"], "start_at": datetime.fromtimestamp(start, UTC).isoformat()}
    status, slot = station.request("POST", "/api/slots", editor, body)
    assert status == 201, slot
    assert slot["published"] is True
    return start, bulletin["clip_sha256"]


def _kill_station_and_broker(station: StationProcess) -> None:
    assert station.process is not None
    pid = int((station.data_dir / "mosquitto" / "mosquitto.pid").read_text())
    station.process.send_signal(signal.SIGKILL)
    station.process.wait(timeout=10)
    # The broker's tether takes it down with the station (broadcast/mqtt/tether.py).
    assert wait_until(lambda: not Path(f"/proc/{pid}").exists(), 5), "mosquitto outlived the station"


def test_agents_play_on_time_while_station_and_broker_are_dead(tmp_path: Path) -> None:
    station, agents, editor, approver = _station_with_agents(tmp_path, 2)
    with running(station, *agents):
        station.start()
        for agent in agents:
            agent.start()
        assert wait_until(
            lambda: all(d["online"] for d in station.request("GET", "/api/devices", editor)[1]), 20
        )
        start, sha = _schedule(station, editor, approver, 12)
        time.sleep(4)  # the programme and the clip reach the agents
        _kill_station_and_broker(station)

        assert wait_until(lambda: all(a.plays() for a in agents), timeout=20)
        for agent in agents:
            [play] = agent.plays()
            assert play["clip_sha256"] == sha
            # On time, not to the millisecond: start precision is the serial agent tests' and
            # bench/sync_start.py's to measure, not a loaded CI's while this test kills processes
            # (0.64 s was seen at load 14). What this bound rules out is a slot played off its time.
            assert abs(play["started_at"] - start) < ON_TIME_S

        station.start()  # same data dir and ports: broker, database and scheduler come back

        def reported() -> bool:
            _, rows = station.request("GET", "/api/plays?outcome=played", editor)
            return {r["device_id"] for r in rows} == {"loa-0", "loa-1"}

        assert wait_until(reported, 30), station.log_tail()
        time.sleep(3)
        assert [len(a.plays()) for a in agents] == [1, 1]  # the republished programme did not replay it


def test_a_station_killed_before_airing_plays_the_slot_exactly_once(tmp_path: Path) -> None:
    station, agents, editor, approver = _station_with_agents(tmp_path, 1)
    [agent] = agents
    with running(station, agent):
        station.start()
        agent.start()
        assert wait_until(lambda: station.request("GET", "/api/devices", editor)[1][0]["online"], 20)
        start, _ = _schedule(station, editor, approver, 14)
        assert station.process is not None
        station.process.send_signal(signal.SIGKILL)  # between scheduling and airing
        station.process.wait(timeout=10)
        station.start()  # restarts its broker (the old one is found by pid and replaced)
        assert wait_until(lambda: agent.plays(), timeout=25), station.log_tail()
        time.sleep(3)
        [play] = agent.plays()
        assert abs(play["started_at"] - start) < ON_TIME_S  # on time (precision: see the test above)
