"""A stolen device floods the station with reports while another device acknowledges an alert.

Real Mosquitto, a real station process and a real agent; the flood uses the device's own credentials
(agent.toml, over TLS), as a thief with the Pi's SD card would. Timing bounds are in
bench/alert_under_flood.py; here: the ack gets through, the flood stores nothing, the device is flagged.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support import metrics
from tests.support.report_flood import ReportFlood
from tests.support.station import AgentProcess, StationProcess, running, wait_until

pytestmark = pytest.mark.integration

FLOOD = 20_000
THIEF = "loa-a"  # thon-1: no agent runs, its credentials publish the flood
WITNESS = "loa-b"  # thon-2: a real agent that acknowledges the alert


def _setup(tmp_path: Path, **env: str) -> tuple[StationProcess, AgentProcess, Path, str, str]:
    station = StationProcess(tmp_path / "station", extra_env=env)
    station.data_dir.mkdir()
    thief, witness = tmp_path / f"{THIEF}.toml", tmp_path / f"{WITNESS}.toml"
    station.cli("device", "add", THIEF, "--zone", "thon-1", "--out", str(thief), "--state-dir", "s-a")
    station.cli("device", "add", WITNESS, "--zone", "thon-2", "--out", str(witness), "--state-dir", "s-b")
    approver = station.account("chutich", "approver", "mat-khau-duyet-tin")
    admin = station.account("quantri", "admin", "mat-khau-he-thong", province=True)
    return station, AgentProcess(config=witness, plays_dir=tmp_path / "plays-b"), thief, approver, admin


def _metric(station: StationProcess, name: str, label: str) -> int:
    _, text = station.request("GET", "/metrics")
    key, _, quoted = label.partition("=")
    return int(metrics.value(text, name, {key: quoted.strip('"')}))


def _raise_alert(station: StationProcess, approver: str) -> int:
    body = {"text": "Lũ quét! Sơ tán ngay.", "zones": ["thon-2"], "repeat": 1}
    status, alert = station.request("POST", "/api/alerts", approver, body)
    assert status == 201, alert
    return int(alert["id"])


def _acked(station: StationProcess, approver: str, alert_id: int) -> bool:
    _, alert = station.request("GET", f"/api/alerts/{alert_id}", approver)
    return WITNESS in alert["received"]


def _start(station: StationProcess, agent: AgentProcess, approver: str) -> None:
    station.start()
    agent.start()
    assert wait_until(
        lambda: any(
            d["id"] == WITNESS and d["online"] for d in station.request("GET", "/api/devices", approver)[1]
        ),
        30,
    ), station.log_tail()
    time.sleep(2)  # the programme (with the prefetched siren) reaches the agent


def _flag(station: StationProcess, approver: str) -> dict[str, object] | None:
    _, devices = station.request("GET", "/api/devices", approver)
    (thief,) = [d for d in devices if d["id"] == THIEF]
    flag: dict[str, object] | None = thief.get("report_flood")
    return flag


def test_a_flood_is_cut_at_the_device_rate_stores_nothing_and_flags_the_device(tmp_path: Path) -> None:
    station, agent, thief, approver, admin = _setup(tmp_path)
    with running(station, agent):
        _start(station, agent, approver)
        database = station.data_dir / "broadcast.db"
        size_before = database.stat().st_size if database.exists() else 0
        flood = ReportFlood(thief, FLOOD)
        flood.thread.start()
        alert_id = _raise_alert(station, approver)
        assert wait_until(lambda: _acked(station, approver, alert_id), 30), station.log_tail()
        flood.thread.join(timeout=60)
        assert flood.sent == FLOOD

        # Past the burst (1,000) almost all of it was dropped in the MQTT callback, before any parse.
        assert wait_until(
            lambda: _metric(station, "loa_reports_dropped_total", 'reason="rate"') > FLOOD // 2, 20
        )

        # The flag's count is brought up to date every 2 s (report_floods loop): wait for it to catch up.
        def flagged_count() -> int:
            flag = _flag(station, approver)
            return -1 if flag is None else int(str(flag["dropped"]))

        assert wait_until(lambda: flagged_count() > FLOOD // 2, 20), (flagged_count(), station.log_tail())
        # What got past the rate named commands never issued: counted, not stored.
        assert _metric(station, "loa_reports_dropped_total", 'reason="unknown_command"') > 0
        status, plays = station.request("GET", f"/api/plays?device_id={THIEF}", approver)
        assert (status, plays) == (200, [])
        status, audit = station.request("GET", f"/api/audit?target=device:{THIEF}&action=device", admin)
        assert status == 200, audit
        floods = [e for e in audit["entries"] if e["action"] == "device.report_flood"]
        assert [(e["actor"], e["target"]) for e in floods] == [("station", f"device:{THIEF}")]  # one streak
        if database.exists():  # SQLite: the file did not grow with the flood (42,000 rows were 39 MB)
            wal = database.with_name(database.name + "-wal")
            grown = database.stat().st_size + (wal.stat().st_size if wal.exists() else 0) - size_before
            assert grown < 4 * 1024 * 1024, grown


def test_an_alert_ack_overtakes_a_flood_the_rate_lets_through(tmp_path: Path) -> None:
    # No per-device rate: the whole flood reaches the station's lanes (as many devices flooding at once
    # would), and the normal lane is full while the alert is acknowledged.
    station, agent, thief, approver, _admin = _setup(tmp_path, BROADCAST_REPORT_RATE_PER_MINUTE="0")
    with running(station, agent):
        _start(station, agent, approver)
        flood = ReportFlood(thief, 10 * FLOOD)  # sustained until the ack is in
        flood.thread.start()
        # The normal lane is full: the flood outpaces ingest, and its excess is dropped at the lane.
        assert wait_until(lambda: _metric(station, "loa_reports_dropped_total", 'reason="queue"') > 0, 30)
        alert_id = _raise_alert(station, approver)
        backlog_when_acked = -1
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if _acked(station, approver, alert_id):
                backlog_when_acked = _metric(station, "loa_report_queue", 'lane="normal"')
                break
            time.sleep(0.1)
        flood.stop.set()
        flood.thread.join(timeout=60)
        assert backlog_when_acked > 0, (backlog_when_acked, station.log_tail())  # recorded before it drained
        status, plays = station.request("GET", f"/api/plays?device_id={THIEF}", approver)
        assert (status, plays) == (200, [])
        assert wait_until(lambda: _flag(station, approver) is not None, 20), station.log_tail()
