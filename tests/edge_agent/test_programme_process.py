"""Zone programmes with real processes: offline play from cache, reports after reconnect, kill -9 restart."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from broadcast import protocol
from tests.edge_agent.programme_station import CLIP_SECONDS, ProgrammeStation
from tests.support.timing import ON_TIME_S

pytestmark = pytest.mark.integration

DEVICE = "loa-01"


@pytest.fixture(scope="module")
def station(
    tmp_path_factory: pytest.TempPathFactory, mp3_clip: Path, station_key: tuple[bytes, str]
) -> Iterator[ProgrammeStation]:
    station = ProgrammeStation(tmp_path_factory.mktemp("programme"), [DEVICE], mp3_clip, station_key)
    try:
        station.add_agent(DEVICE)
        station.wait_for("agent online", lambda: station.online(DEVICE))
        yield station
    finally:
        station.close()


def _outbox_reports(station: ProgrammeStation) -> list[dict[str, object]]:
    path = station.agents[DEVICE].directory / "state" / "outbox.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    acked = {line["ack"] for line in lines if "ack" in line}
    return [json.loads(line["m"]) for line in lines if "m" in line and line["k"] not in acked]


def _sleep_until(when: float) -> None:
    time.sleep(max(0.0, when - time.time()))


def test_programme_plays_from_cache_with_broker_and_clips_down_then_reports_after_restart(
    station: ProgrammeStation,
) -> None:
    agent = station.agents[DEVICE]
    start_at = time.time() + 4.0
    command, entry = station.entry(start_at, "slot-1-item-1-20250601")
    station.publish_programme(1, [entry])
    pending = agent.directory / "state" / "pending"
    station.wait_for("entry fetched and scheduled", lambda: any(pending.glob("*.cmd")), timeout=5)
    station.stop_broker()
    station.stop_clips()

    _sleep_until(start_at + CLIP_SECONDS + 0.3)
    (play,) = agent.plays(command.id)
    assert abs(play["started_at"] - start_at) < ON_TIME_S, play
    waiting = [r for r in _outbox_reports(station) if r.get("command_id") == command.id]
    assert [r["type"] for r in waiting] == ["play"]  # made offline, kept on disk until acknowledged
    assert station.reports(protocol.PlayReport, command.id) == []
    agent.kill()  # and a power cut before the link is back: the report must survive that too
    agent.start()

    station.start_broker()
    station.wait_for(
        "play report after reconnect",
        lambda: bool(station.reports(protocol.PlayReport, command.id)),
        timeout=20,
    )
    (report,) = station.reports(protocol.PlayReport, command.id)
    assert (report.device_id, report.started_at) == (DEVICE, play["started_at"])
    station.wait_for("outbox drained", lambda: not _outbox_reports(station), timeout=5)
    # The retained programme came back on reconnect: same version, nothing new, nothing played twice.
    time.sleep(0.5)
    assert len(agent.plays(command.id)) == 1


def test_killed_agent_restarted_offline_plays_its_accepted_programme_once(
    station: ProgrammeStation,
) -> None:
    agent = station.agents[DEVICE]
    station.wait_for("agent online", lambda: station.online(DEVICE), timeout=20)
    first_id = "slot-1-item-1-20250601"
    old = next(iter(agent.plays(first_id)))
    start_at = time.time() + 5.0
    command, entry = station.entry(start_at, "slot-2-item-1-20250601")
    _, old_entry = station.entry(old["start_at"], first_id)  # already played: stays played
    station.publish_programme(2, [old_entry, entry])
    station.wait_for("programme v2 accepted", lambda: agent.programme_version() == 2, timeout=5)

    agent.kill()  # power cut right after accepting: the clip may or may not be scheduled yet
    station.stop_broker()
    agent.start()  # no broker, no new messages: only the stored programme and pending commands

    _sleep_until(start_at + CLIP_SECONDS + 0.3)
    plays = agent.plays(command.id)
    assert len(plays) == 1, agent.tail()
    assert abs(plays[0]["started_at"] - start_at) < ON_TIME_S
    assert len(agent.plays(first_id)) == 1

    station.start_broker()
    station.wait_for(
        "play report after reconnect",
        lambda: bool(station.reports(protocol.PlayReport, command.id)),
        timeout=20,
    )
    time.sleep(0.5)
    assert len(agent.plays(command.id)) == 1
    assert len(station.reports(protocol.PlayReport, command.id)) == 1
