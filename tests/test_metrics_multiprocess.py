"""PROMETHEUS_MULTIPROC_DIR: two worker processes write into one directory, one scrape shows both.

prometheus_client picks its multiprocess mode when first imported, so each worker is a fresh interpreter.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support import metrics

WORKER = """
import sys
from broadcast import metrics

messages, queued = int(sys.argv[1]), int(sys.argv[2])
for _ in range(messages):
    metrics.agent_message_taken()
metrics.report_dropped("rate")
metrics.report_lanes_empty(["urgent", "normal"])
metrics.report_queued("normal", queued)
metrics.mqtt_link(True)
metrics.alert_acknowledged("alert", 0.3)
with metrics.publish_timer("programme"):
    pass
metrics.http_request("/api/alerts/{alert_id}", "GET", 200, 0.01)
if sys.argv[3] == "scrape":
    class Counts:
        devices, devices_online = 7, 5
        plays = {"played": 3}
        bulletins = {"approved": 2}
    sys.stdout.write(metrics.scrape(Counts).decode())
"""


def _worker(directory: Path, messages: int, queued: int, then: str) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    result = subprocess.run(
        [sys.executable, "-c", WORKER, str(messages), str(queued), then],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_one_scrape_adds_up_two_workers_and_counts_the_database_once(tmp_path: Path) -> None:
    directory = tmp_path / "prometheus"
    directory.mkdir()
    _worker(directory, 3, 9, "exit")  # a worker that stopped: its counts stay, its live gauges go
    text = _worker(directory, 5, 4, "scrape")

    assert metrics.value(text, "loa_agent_messages_total") == 3 + 5
    assert metrics.value(text, "loa_reports_dropped_total", {"reason": "rate"}) == 2
    assert metrics.value(text, "loa_alert_delivery_seconds_count", {"kind": "alert"}) == 2
    assert metrics.value(text, "loa_mqtt_publish_seconds_count", {"kind": "programme"}) == 2
    route = {"route": "/api/alerts/{alert_id}", "method": "GET", "status": "2xx"}
    assert metrics.value(text, "loa_http_request_seconds_count", route) == 2
    assert metrics.value(text, "loa_report_queue", {"lane": "normal"}) == 4  # the live worker's only
    assert metrics.value(text, "loa_mqtt_connected") == 1
    # Read from the database once per scrape, not once per worker.
    assert metrics.value(text, "loa_devices") == 7
    assert metrics.value(text, "loa_devices_online") == 5
    assert metrics.value(text, "loa_plays_total", {"outcome": "played"}) == 3
    assert metrics.value(text, "loa_bulletins", {"status": "approved"}) == 2
