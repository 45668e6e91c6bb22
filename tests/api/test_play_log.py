"""Proof of play: filters, CSV export, the daily report per zone."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime, timedelta

from broadcast import protocol, reports
from broadcast.fleet import devices
from tests.api.conftest import Api


def _report(api: Api, device: str, command: str, started: float, outcome: str = "played") -> None:
    if outcome == "played":
        message: protocol.AgentMessage = protocol.PlayReport(
            device, command, "a" * 64, started, 42.0, "normal"
        )
    else:
        message = protocol.CommandRejected(device, command, "missed start by 3.2 s")
    reports.ingest(
        api.station.db, protocol.device_event_topic(device), protocol.encode_agent_message(message)
    )


def test_filters_csv_and_daily_report(api: Api) -> None:
    settings = api.station.settings
    with api.station.db.session() as session:
        devices.add_device(session, settings.broker, "loa-2", "thon-2", settings.data_dir, "file:x", "t")
        devices.add_device(session, settings.broker, "loa-3", "thon-1", settings.data_dir, "file:x", "t")
    now = time.time()
    _report(api, "loa-1", "c1", now)
    _report(api, "loa-2", "c1", now)
    _report(api, "loa-3", "c1", now, outcome="rejected")

    zone_one = api.client.get("/api/plays?zone=thon-1", headers=api.editor).json()
    assert {p["device_id"] for p in zone_one} == {"loa-1", "loa-3"}
    rejected = api.client.get("/api/plays?outcome=rejected", headers=api.editor).json()
    assert [p["device_id"] for p in rejected] == ["loa-3"]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert api.client.get("/api/plays", params={"since": future}, headers=api.editor).json() == []

    exported = api.client.get("/api/plays.csv", headers=api.editor)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["thiet_bi", "vung", "ban_tin"]
    assert {r[0] for r in rows[1:]} == {"loa-1", "loa-2", "loa-3"}
    assert "Từ chối" in exported.text

    day = api.client.get("/api/reports/daily?zone=thon-1", headers=api.editor).json()
    assert len(day) == 1
    assert day[0]["plays"] == 1
    assert day[0]["silent_devices"] == ["loa-3"]
    assert day[0]["problems"][0]["reason"].startswith("missed start")
    assert api.client.get("/api/plays.csv").status_code == 401
