"""The clock offset an agent reports is true: measured against the station's /time, not its Date header.

An agent on the station's own machine showed +562 ms: the HTTP Date header has whole seconds (and the
server refreshes it once a second), so one reading is anywhere within about ±1 s. The station's /time has
microseconds; the agent asks it a few times NTP-style and keeps the sample with the shortest round trip.
"""

from __future__ import annotations

import contextlib
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from broadcast import protocol
from broadcast.app import create_app
from broadcast.config import Settings
from edge_agent.clock import ClockMonitor, best_sample, http_date_offset, station_probe, time_sample
from edge_agent.heartbeat import AgentState, collect
from tests.support.free_port import free_port
from tests.support.station import wait_until


@pytest.mark.parametrize(
    ("station_now", "sent", "received", "offset_ms", "uncertainty_ms"),
    [
        (100.0, 100.0, 100.010, 5.0, 5.0),  # same clock, 10 ms round trip
        (100.0, 100.5, 100.502, 501.0, 1.0),  # our clock 0.5 s ahead
        (100.0, 98.0, 98.004, -1998.0, 2.0),  # ours 2 s behind
    ],
)
def test_one_exchange_gives_offset_and_half_the_round_trip(
    station_now: float, sent: float, received: float, offset_ms: float, uncertainty_ms: float
) -> None:
    offset, uncertainty = time_sample(station_now, sent, received)
    assert (round(offset, 3), round(uncertainty, 3)) == (offset_ms, uncertainty_ms)


def test_the_sample_with_the_shortest_round_trip_wins() -> None:
    assert best_sample([(40.0, 30.0), (2.0, 0.4), (-10.0, 9.0)]) == (2.0, 0.4)
    assert best_sample([]) is None


def test_ntp_still_comes_first_and_a_failed_probe_waits_its_turn() -> None:
    calls: list[int] = []

    def probe() -> tuple[float, float] | None:
        calls.append(1)
        return None

    chrony = "A,B,C,D,-0.000012,F,G,H,I,J,K,L,M,Normal\n"
    ntp = ClockMonitor(run=lambda command: chrony if command[0] == "chronyc" else None, probe=probe)
    assert (ntp.reading().source, ntp.reading().uncertainty_ms, calls) == ("ntp", None, [])
    monitor = ClockMonitor(run=lambda command: None, probe=probe, probe_every_s=300)
    now = time.time()
    monitor.note_http_date("Sun, 06 Dec 2026 00:00:00 GMT", now, now + 0.01)
    for _ in range(3):
        reading = monitor.reading()
    assert calls == [1]  # not again at every heartbeat
    assert reading.source == "http" and (reading.uncertainty_ms or 0) >= 500  # the Date header: ±0.5 s+


@contextlib.contextmanager
def serving(tmp: Path, database_url: str) -> Iterator[str]:
    """Run the whole station app behind uvicorn on a free port (no live engine: not needed here)."""
    port = free_port()
    settings = Settings(
        data_dir=tmp / "var",
        database_url=database_url,
        mqtt_port=free_port(),
        mqtt_tls_port=free_port(),
        public_url=f"http://127.0.0.1:{port}",
        live_engine="off",
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="clock-uvicorn", daemon=True)
    thread.start()
    try:
        assert wait_until(lambda: server.started or not thread.is_alive(), 60) and server.started
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_an_agent_on_the_stations_machine_reports_about_zero(
    tmp_path: Path, migrated_database_url: str
) -> None:
    with serving(tmp_path, migrated_database_url) as url:
        monitor = ClockMonitor(run=lambda command: None, probe=station_probe(url))
        (tmp_path / "clips").mkdir()
        beat = collect(
            "loa-1", "test", tmp_path, tmp_path / "clips", monitor, AgentState(None, None), time.monotonic()
        )
        # What the station stores: the heartbeat as parsed from the wire.
        parsed = protocol.parse_agent_message(protocol.encode_agent_message(beat), "loa-1")
        assert isinstance(parsed, protocol.Heartbeat)
        assert parsed.clock_source == "http"
        assert parsed.clock_offset_ms is not None and abs(parsed.clock_offset_ms) < 20, parsed
        assert parsed.clock_uncertainty_ms is not None and parsed.clock_uncertainty_ms < 20, parsed

        # The Date header of the same station says far less: its estimate may be ±1 s off.
        sent = time.time()
        with urllib.request.urlopen(f"{url}/healthz") as response:
            date = response.headers["Date"]
        coarse = http_date_offset(date, sent, time.time())
        assert coarse is not None and coarse[1] >= 500


def test_a_station_out_of_reach_costs_one_refused_connection() -> None:
    probe = station_probe(f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    assert probe() is None
    assert time.monotonic() - started < 2.5
