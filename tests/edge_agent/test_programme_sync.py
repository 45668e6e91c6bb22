"""Twenty real agent processes of one zone start a programme entry on the same clock tick."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from broadcast import protocol
from tests.edge_agent.programme_station import CLIP_SECONDS, ProgrammeStation

pytestmark = pytest.mark.integration

AGENTS = 20
MAX_P99_SKEW_S = 0.020


@pytest.fixture(scope="module")
def station(
    tmp_path_factory: pytest.TempPathFactory, mp3_clip: Path, station_key: tuple[bytes, str]
) -> Iterator[ProgrammeStation]:
    devices = [f"loa-{n:02d}" for n in range(1, AGENTS + 1)]
    station = ProgrammeStation(tmp_path_factory.mktemp("sync"), devices, mp3_clip, station_key)
    try:
        for device in devices:
            station.add_agent(device)
        station.wait_for("all agents online", lambda: all(station.online(d) for d in devices), timeout=60)
        yield station
    finally:
        station.close()


def p99(values: list[float]) -> float:
    """Return the 99th percentile (nearest rank) of values."""
    ranked = sorted(values)
    return ranked[min(len(ranked) - 1, max(0, round(0.99 * len(ranked) + 0.5) - 1))]


def test_twenty_agents_start_a_programme_entry_within_20_ms(
    station: ProgrammeStation, capsys: pytest.CaptureFixture[str]
) -> None:
    start_at = time.time() + 6.0
    command, entry = station.entry(start_at, "slot-7-item-1-20250601")
    station.publish_programme(1, [entry])
    station.wait_for(
        "every play report",
        lambda: len(station.reports(protocol.PlayReport, command.id)) == AGENTS,
        timeout=6.0 + CLIP_SECONDS + 10,
    )
    starts = [play["started_at"] for agent in station.agents.values() for play in agent.plays(command.id)]
    assert len(starts) == AGENTS  # each agent played it exactly once
    median = statistics.median(starts)
    pairwise = [abs(a - b) for i, a in enumerate(starts) for b in starts[i + 1 :]]
    spread, pair_p99 = max(starts) - min(starts), p99(pairwise)
    lateness = [s - start_at for s in starts]
    with capsys.disabled():
        print(
            f"\n{AGENTS} agents: max skew {spread * 1000:.2f} ms, "
            f"p99 pairwise skew {pair_p99 * 1000:.2f} ms, "
            f"p99 |start - median| {p99([abs(s - median) for s in starts]) * 1000:.2f} ms, "
            f"lateness {min(lateness) * 1000:+.2f}..{max(lateness) * 1000:+.2f} ms"
        )
    assert pair_p99 < MAX_P99_SKEW_S
    assert all(abs(late) < 0.1 for late in lateness)
