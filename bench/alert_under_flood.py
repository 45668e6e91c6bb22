"""An emergency alert while the station is attacked: POST duration and POST -> agent start, in one run.

A real station process (managed Mosquitto over TLS, SQLite, espeak-ng, ffmpeg) and a real edge agent
writing plays.jsonl. Three phases, each timing `ALERTS` alerts raised by an admin over the API:
  no_flood      nothing else happening;
  login_flood   40 connections posting random names to /login (issue 13: 12.7-51 s before the lanes);
  report_flood  40,000 QoS0 play reports with unique command ids, published with one device's own
                credentials on its own event topic, just before the alerts.
Goal: POST and POST -> agent start <= 1 s in every phase. Prints JSON; writes
bench/results/alert_under_flood.json. Usage: python -m bench.alert_under_flood [ALERTS]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.simulator.report import emit, environment, load_1m
from tests.security.login_support import ADMIN, ADMIN_PASSWORD, LoginFlood
from tests.support.report_flood import ReportFlood
from tests.support.station import AgentProcess, StationProcess, running, wait_until

REPORTS = 40_000
TEXTS = ("Lũ quét ở thượng nguồn, bà con ven suối sơ tán ngay!", "Cháy lớn tại chợ xã, tránh xa khu vực chợ.")


def _setup(root: Path) -> tuple[StationProcess, AgentProcess, Path, str]:
    station = StationProcess(root / "station", extra_env={"BROADCAST_QUIET_HOURS": ""})
    station.data_dir.mkdir(parents=True)
    thief, witness = root / "loa-a.toml", root / "loa-b.toml"
    station.cli("device", "add", "loa-a", "--zone", "thon-1", "--out", str(thief), "--state-dir", "s-a")
    station.cli("device", "add", "loa-b", "--zone", "thon-2", "--out", str(witness), "--state-dir", "s-b")
    station.cli("user", "add", ADMIN, "--role", "admin", "--password-stdin", stdin=f"{ADMIN_PASSWORD}\n")
    token = station.cli("token", "create", ADMIN).strip()
    return station, AgentProcess(config=witness, plays_dir=root / "plays"), thief, token


def _alert_once(station: StationProcess, agent: AgentProcess, token: str, n: int) -> tuple[float, float]:
    """Raise one alert on the witness's zone; return (POST ms, POST -> agent start ms), then cancel it."""
    seen = len(agent.plays())
    posted = time.time()
    started = time.perf_counter()
    body = {"text": f"{TEXTS[n % 2]} Lần {n}.", "zones": ["thon-2"], "repeat": 1}
    status, alert = station.request("POST", "/api/alerts", token, body)
    post_ms = (time.perf_counter() - started) * 1000
    if status != 201:
        raise SystemExit(f"alert refused: {status} {alert}")

    def first_start() -> float | None:
        fresh = [
            p for p in agent.plays()[seen:] if p.get("priority") == "emergency" or p.get("kind") == "alert"
        ]
        return min((p["started_at"] for p in fresh), default=None)

    if not wait_until(lambda: first_start() is not None, 60, interval=0.02):
        raise SystemExit(f"alert {alert['id']} never started: {station.log_tail()}")
    start = first_start()
    assert start is not None
    station.request("POST", f"/api/alerts/{alert['id']}/cancel", token, {"correction": False})
    time.sleep(1.0)  # the cancel reaches the agent before the next alert
    return post_ms, (start - posted) * 1000


def _phase(
    station: StationProcess, agent: AgentProcess, token: str, alerts: int, first: int
) -> dict[str, Any]:
    times = [_alert_once(station, agent, token, first + n) for n in range(alerts)]
    post = sorted(t[0] for t in times)
    start = sorted(t[1] for t in times)
    return {
        "post_ms": {"p50": round(statistics.median(post), 1), "max": round(post[-1], 1)},
        "post_to_agent_start_ms": {"p50": round(statistics.median(start), 1), "max": round(start[-1], 1)},
    }


def run(alerts: int) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="alert-flood-"))
    station, agent, thief, token = _setup(root)
    result: dict[str, Any] = {
        "benchmark": "alert_under_flood",
        "alerts_per_phase": alerts,
        "load_1m_before": load_1m(),
    }
    with running(station, agent):
        station.start()
        agent.start()
        online = lambda: any(d["online"] for d in station.request("GET", "/api/devices", token)[1])  # noqa: E731
        if not wait_until(online, 30):
            raise SystemExit(f"agent never came online: {station.log_tail()}")
        time.sleep(2)  # the programme (with the prefetched siren) reaches the agent
        result["no_flood"] = _phase(station, agent, token, alerts, 0)

        flood = LoginFlood(station.url, connections=40, limit=1_000_000)
        flood.start()
        time.sleep(3)  # the flood is at full rate before the first alert
        try:
            result["login_flood"] = _phase(station, agent, token, alerts, alerts)
        finally:
            statuses = flood.stop()
        result["login_flood"]["attempts"] = dict(sorted(statuses.items()))

        sent_s = 0.0
        done = threading.Event()

        def publish() -> None:
            nonlocal sent_s
            flood_run = ReportFlood(thief, REPORTS)
            flood_run.run()
            sent_s = flood_run.elapsed_s
            done.set()

        threading.Thread(target=publish, daemon=True).start()
        time.sleep(0.5)  # alerts go out while reports are still arriving
        result["report_flood"] = _phase(station, agent, token, alerts, 2 * alerts)
        done.wait(120)
        result["report_flood"]["reports"] = REPORTS
        result["report_flood"]["published_in_s"] = round(sent_s, 2)
    result["load_1m_after"] = load_1m()
    result["goal"] = "post_ms and post_to_agent_start_ms <= 1000 in every phase"
    result["environment"] = environment()
    return result


def main() -> int:
    emit("alert_under_flood", run(int(sys.argv[1]) if len(sys.argv) > 1 else 3))
    return 0


if __name__ == "__main__":
    sys.exit(main())
