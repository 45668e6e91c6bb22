"""The agent simulator: pure statistics, and 20 simulated agents against a real Mosquitto."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from bench.simulator import (
    Fleet,
    FleetSpec,
    Outgoing,
    emergency,
    fan_out,
    new_station_key,
    percentile,
    scheduled,
)
from bench.simulator.stats import pooled_skew_ms, skew_ms, summarize_ms
from broadcast import protocol
from broadcast.mqtt.client import StationMqtt, parse_mqtt_url

N_AGENTS = 20
OBSERVER = "bench-observer"


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([5.0], 50, 5.0),
        ([5.0], 99, 5.0),
        ([1.0, 2.0], 50, 1.5),
        ([3.0, 1.0, 2.0], 50, 2.0),  # unsorted input
        ([1.0, 2.0, 3.0, 4.0], 0, 1.0),
        ([1.0, 2.0, 3.0, 4.0], 100, 4.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.5),
        ([1.0, 2.0, 3.0, 4.0], 25, 1.75),
        ([float(i) for i in range(1, 101)], 99, 99.01),
        ([float(i) for i in range(1, 101)], 90, 90.1),
        ([0.0] * 99 + [1000.0], 99, 10.0),  # one outlier in 100 moves p99 by a hundredth of it
        ([0.0] * 98 + [1000.0, 1000.0], 99, 1000.0),
    ],
)
def test_percentile_interpolates_between_closest_ranks(
    values: list[float], q: float, expected: float
) -> None:
    assert percentile(values, q) == pytest.approx(expected)


@pytest.mark.parametrize(("values", "q"), [([], 50), ([1.0], -1), ([1.0], 101)])
def test_percentile_refuses_nonsense(values: list[float], q: float) -> None:
    with pytest.raises(ValueError, match="percentile"):
        percentile(values, q)


def test_summaries_are_in_milliseconds() -> None:
    assert summarize_ms([0.001, 0.002, 0.003]) == {
        "n": 3, "min": 1.0, "p50": 2.0, "p90": 2.8, "p99": 2.98, "max": 3.0, "mean": 2.0
    }  # fmt: skip
    assert summarize_ms([]) == {"n": 0}
    # Deviations from the median (10.001) are 1, 0 and 3 ms: p99 lies 98 % of the way from 1 to 3.
    assert skew_ms([10.000, 10.001, 10.004]) == pytest.approx(
        {"n": 3, "range": 4.0, "p99_abs_from_median": 2.96, "max_abs_from_median": 3.0}, abs=2e-3
    )
    pooled = pooled_skew_ms([[1.0, 1.002], [5.0, 5.0, 5.01]])
    assert pooled["n"] == 5 and pooled["range_max"] == pytest.approx(10.0)
    assert pooled["max_abs_from_median"] == pytest.approx(10.0)


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    # The fleet observes under a bench account, so a station of its own can log in as `station`.
    spec = FleetSpec(n_agents=N_AGENTS, workers=2, station_user=OBSERVER, extra_users=(OBSERVER,))
    with Fleet(spec) as fleet:
        connected = fleet.connect(timeout_s=30)
        assert (connected.ok, connected.failed) == (N_AGENTS, 0), connected.errors
        yield fleet


@pytest.mark.integration
def test_every_agent_connects_with_its_own_account_and_is_seen_online(fleet: Fleet) -> None:
    deadline = time.monotonic() + 5
    while fleet.ingest.online() < N_AGENTS and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fleet.ingest.online() == N_AGENTS
    assert len({device.password for device in fleet.devices}) == N_AGENTS


@pytest.mark.integration
def test_an_alert_starts_on_every_agent_and_is_acknowledged(fleet: Fleet) -> None:
    done = fan_out(fleet, emergency, timeout_s=10)
    assert done.missing == [] and done.raw_missing == []
    assert sorted(r.device_id for r in done.records) == sorted(d.device_id for d in fleet.devices)
    assert {r.outcome for r in done.records} == {"started"}
    assert all(r.started_at is not None and r.started_at >= done.published_at for r in done.records)
    assert len(done.raw_records) == N_AGENTS and {r.outcome for r in done.raw_records} == {"raw"}
    assert len(done.acks) == N_AGENTS  # the station consumed one play report per agent


@pytest.mark.integration
def test_a_scheduled_play_starts_at_start_at_on_every_agent(fleet: Fleet) -> None:
    done = fan_out(fleet, scheduled(1.0), timeout_s=10)
    starts = [r.started_at for r in done.records if r.outcome == "started"]
    assert len(starts) == N_AGENTS
    start_at = done.outgoing.start_at
    assert start_at is not None
    # Loopback, one clock, an idle fleet: every timer fires within tens of ms of start_at, never early.
    assert all(0 <= started - start_at < 0.1 for started in starts if started is not None)


@pytest.mark.integration
def test_a_forged_command_is_rejected_by_the_real_decision_path(fleet: Fleet) -> None:
    forger = new_station_key()
    command, payload = fleet.play_command(
        start_at=time.time(), priority="emergency", private_key=forger.private_raw
    )
    topic = protocol.zone_command_topic(fleet.zones[0])
    fleet.publish(topic, payload, expiry_s=60)
    records, missing = fleet.collect(command.id, topic, timeout_s=10)
    assert missing == []
    assert len(records) == N_AGENTS
    assert {r.outcome for r in records} == {"rejected"}
    assert all(r.reason.startswith("bad signature") for r in records)  # "...: key '<kid>' is not trusted"
    assert all(r.started_at is None for r in records)


@pytest.mark.integration
def test_a_redelivered_command_plays_once(fleet: Fleet) -> None:
    command, payload = fleet.play_command(start_at=time.time(), priority="emergency")
    topic = protocol.zone_command_topic(fleet.zones[0])
    fleet.publish(topic, payload, expiry_s=60)
    first, _ = fleet.collect(command.id, topic, timeout_s=10)
    fleet.publish(topic, payload, expiry_s=60)
    again, _ = fleet.collect(command.id, topic, timeout_s=10)
    assert {r.outcome for r in first} == {"started"}
    assert {r.outcome for r in again} == {"duplicate"} and len(again) == N_AGENTS


@pytest.mark.integration
def test_a_station_of_its_own_can_publish_inside_the_timed_span(fleet: Fleet) -> None:
    station = StationMqtt(parse_mqtt_url(fleet.station.mqtt_url()))
    station.start()
    try:

        def post_alert(fleet: Fleet) -> Outgoing:
            # Stands in for POST /api/alerts: the station signs and publishes; the bench only learns the id.
            command, payload = fleet.play_command(start_at=time.time(), priority="emergency")
            topic = protocol.zone_command_topic(fleet.zones[0])
            station.publish(topic, payload, expiry_s=60)
            return Outgoing(command.id, topic, None, 60.0, command.start_at, size=len(payload))

        done = fan_out(fleet, post_alert, timeout_s=10)
    finally:
        station.stop()
    assert {r.outcome for r in done.records} == {"started"} and len(done.records) == N_AGENTS
    assert len(done.raw_records) == N_AGENTS
