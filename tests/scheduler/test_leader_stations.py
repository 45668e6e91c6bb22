"""Two `broadcast serve` workers on one database: one scheduler, and the other takes over on kill -9."""

from __future__ import annotations

import os
import re
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import get_type_hints

import pytest

from broadcast.scheduler.elected import ElectedScheduler
from broadcast.station import Station
from tests.support.station import StationProcess, running, wait_until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        get_type_hints(Station)["scheduler"] is not ElectedScheduler,
        reason="station.py does not run its scheduler through ElectedScheduler yet",
    ),
]

ELECTED = "elected scheduler leader"


def _log(station: StationProcess) -> str:
    path = station.data_dir / "station.log"
    return path.read_text(errors="replace") if path.exists() else ""


def _runs_of(station: StationProcess, slot_id: int) -> int:
    return len(re.findall(rf'Running job "push slot {slot_id} ', _log(station)))


def test_one_worker_schedules_and_the_other_takes_over_a_handed_slot(
    tmp_path: Path, database_url: str
) -> None:
    env = {"BROADCAST_QUIET_HOURS": "", "BROADCAST_PUSH_LEAD_S": "3"}
    first = StationProcess(tmp_path / "a", database_url=database_url, extra_env=env)
    second = StationProcess(tmp_path / "b", database_url=database_url, extra_env=env)
    for station in (first, second):
        station.data_dir.mkdir()
    first.cli("device", "add", "loa-1", "--zone", "thon-1", "--out", str(tmp_path / "loa-1.toml"))
    first.cli("user", "add", "canbo", "--role", "editor", "--password-stdin", stdin="mat-khau-bien-tap\n")
    first.cli(
        "user", "add", "chutich", "--role", "approver", "--password-stdin", stdin="mat-khau-duyet-tin\n"
    )
    editor = first.cli("token", "create", "canbo").strip()
    approver = first.cli("token", "create", "chutich").strip()

    with running(first, second):
        first.start()
        second.start()
        assert ELECTED in _log(first) and ELECTED not in _log(second)
        assert second.request("GET", "/healthz")[0] == 200  # a follower is healthy too

        # Everything through the follower: its slot is handed to the leader.
        status, bulletin = second.request(
            "POST",
            "/api/bulletins",
            editor,
            {"title": "Họp dân", "text": "Họp dân lúc 8h.", "zones": ["thon-1"]},
        )
        assert status == 201, bulletin
        assert second.request("POST", f"/api/bulletins/{bulletin['id']}/approve", approver)[0] == 200
        start_at = datetime.fromtimestamp(time.time() + 12, UTC)
        body = {"bulletin_id": bulletin["id"], "start_at": start_at.isoformat(), "zones": ["thon-1"]}
        status, slot = second.request("POST", "/api/slots", editor, body)
        assert status == 201, slot

        assert first.process is not None
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait(timeout=5)
        killed_at = time.time()
        assert wait_until(lambda: ELECTED in _log(second), 10), second.log_tail()
        assert time.time() - killed_at < 5
        assert wait_until(lambda: _runs_of(second, slot["id"]) >= 1, 20), second.log_tail()
        time.sleep(1.0)
        assert (_runs_of(first, slot["id"]), _runs_of(second, slot["id"])) == (0, 1)
