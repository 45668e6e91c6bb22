"""The agent simulator over TLS: the managed broker's TLS listener, the generated CA pinned by agents.

The handshake is driven by the workers' selector (never blocking one agent's connect on another's), and
verification is the real agent's: a broker certificate from another CA is refused.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.simulator import Fleet, FleetSpec, emergency, fan_out
from bench.simulator.client import new_client
from bench.simulator.loop import ClientLoop
from broadcast.mqtt import tls
from edge_agent.config import AgentConfig
from edge_agent.transport import tls_context

pytestmark = pytest.mark.integration
N_AGENTS = 12
PROBE = "bench-probe"  # a bench-only account (not one of the fleet's agents, which stay connected)


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with Fleet(FleetSpec(n_agents=N_AGENTS, workers=2, tls=True, extra_users=(PROBE,))) as fleet:
        yield fleet


def test_agents_connect_over_tls_and_receive_an_alert(fleet: Fleet) -> None:
    assert fleet.station.device_port != fleet.station.port  # devices are not on the plain listener
    assert fleet.station.ca_pem.startswith("-----BEGIN CERTIFICATE-----")
    raw = fleet.raw_connect(timeout_s=30)
    assert (raw.ok, raw.failed) == (N_AGENTS, 0), raw.errors
    connected = fleet.connect(timeout_s=30)
    assert (connected.ok, connected.failed) == (N_AGENTS, 0), connected.errors
    done = fan_out(fleet, emergency, timeout_s=10)
    assert done.missing == [] and {r.outcome for r in done.records} == {"started"}
    assert len(done.acks) == N_AGENTS  # play reports came back over TLS to the station
    memory = fleet.broker_memory()
    assert 0 < memory["rss_mb"] <= memory["peak_rss_mb"]


def _context(ca_pem: str) -> ssl.SSLContext:
    """Return the TLS context the real agent builds from an agent.toml pinning `ca_pem`."""
    config = AgentConfig(
        device_id=PROBE,
        zones=("z",),
        station_url="http://127.0.0.1:9",
        station_public_key="",
        mqtt_host="127.0.0.1",
        mqtt_port=1,
        mqtt_username=PROBE,
        mqtt_password="",
        state_dir=Path("unused"),
        mqtt_tls=True,
        mqtt_ca_pem=ca_pem,
    )
    return tls_context(config)


@pytest.mark.parametrize("pinned", ["other CA", "station CA"])
def test_the_handshake_is_non_blocking_and_checks_the_pinned_ca(fleet: Fleet, pinned: str) -> None:
    ca_pem = tls.make_ca(datetime.now(UTC)).pem if pinned == "other CA" else fleet.station.ca_pem
    loop = ClientLoop()
    client = new_client(PROBE, fleet.station.password(PROBE), _context(ca_pem))
    outcome: list[str] = []
    client.on_connect = lambda c, u, f, reason, p: outcome.append(f"connack {reason}")
    client.on_disconnect = lambda c, u, f, reason, p: outcome.append("closed")
    loop.attach(client)
    client.connect("127.0.0.1", fleet.station.device_port, keepalive=30)
    assert client.want_write() and not outcome  # connect() returned mid-handshake
    deadline = time.monotonic() + 10
    while not outcome and time.monotonic() < deadline:
        loop.run_once()
    try:
        if pinned == "other CA":
            assert outcome == ["closed"]
            assert client.tls_error is not None and "certificate verify failed" in client.tls_error
        else:
            assert outcome == ["connack Success"] and client.tls_error is None
    finally:
        client.disconnect()
        loop.flush()
        loop.close()
