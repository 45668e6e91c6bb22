"""An alert delivered to a real agent shows in /metrics: delivery, publish and HTTP latency histograms.

Run with one registry per process and with PROMETHEUS_MULTIPROC_DIR (what several workers use).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.integration.test_programme_offline import _station_with_agents
from tests.support import metrics
from tests.support.station import running, wait_until

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("mode", ["one process", "multiprocess"])
def test_an_acknowledged_alert_is_observed_in_the_histograms(tmp_path: Path, mode: str) -> None:
    station, (agent,), _editor, approver = _station_with_agents(tmp_path, 1)
    if mode == "multiprocess":
        directory = tmp_path / "prometheus"
        directory.mkdir()
        station.extra_env["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    with running(station, agent):
        station.start()
        agent.start()
        assert wait_until(lambda: station.request("GET", "/api/devices", approver)[1][0]["online"], 20)
        time.sleep(2)  # the programme (with the prefetched siren) reaches the agent
        before = station.request("GET", "/metrics")[1]
        assert metrics.total(before, "loa_alert_delivery_seconds_count") == 0
        body = {"text": "Lũ quét! Sơ tán ngay.", "zones": ["thon-1"], "repeat": 1}
        status, alert = station.request("POST", "/api/alerts", approver, body)
        assert status == 201, alert

        def acknowledged() -> bool:
            return "loa-0" in station.request("GET", f"/api/alerts/{alert['id']}", approver)[1]["received"]

        assert wait_until(acknowledged, 20), station.log_tail()
        text = station.request("GET", "/metrics")[1]

    delivered = metrics.value(text, "loa_alert_delivery_seconds_count", {"kind": "alert"})
    assert delivered == 1  # one loudspeaker, acknowledged once
    assert metrics.value(text, "loa_alert_delivery_seconds_bucket", {"kind": "alert", "le": "+Inf"}) == 1
    assert metrics.value(text, "loa_mqtt_publish_seconds_count", {"kind": "alert"}) >= 1  # one zone
    assert metrics.total(text, "loa_mqtt_publish_seconds_count", kind="programme") >= 1
    assert metrics.total(text, "loa_mqtt_publish_failures_total") == 0
    posted = {"route": "/api/alerts", "method": "POST", "status": "2xx"}
    assert metrics.value(text, "loa_http_request_seconds_count", posted) == 1
    polled = {"route": "/api/alerts/{alert_id}", "method": "GET", "status": "2xx"}
    assert metrics.value(text, "loa_http_request_seconds_count", polled) >= 1
    assert metrics.value(text, "loa_agent_messages_total") >= 2  # its status, then the ack at least
    assert metrics.value(text, "loa_devices") == 1
