"""The station survives its machine: backed up while serving, killed, its data directory destroyed, restored
into a new one, started again — and the agents, never touched, play the next slot on time and accept its
commands (numbers above everything they saw, a programme version above the one they hold).

Real processes throughout: `broadcast serve` (managed Mosquitto with TLS), two `edge-agent` processes,
`broadcast backup` and `broadcast restore` as the officer runs them; SQLite, then PostgreSQL.
"""

from __future__ import annotations

import json
import shutil
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from broadcast.backup.seq_guard import SKIP
from tests.support import database
from tests.support.station import AgentProcess, StationProcess, running, wait_until
from tests.support.timing import ON_TIME_S

pytestmark = pytest.mark.integration

PASSPHRASE = "trâu vàng đồng lúa 2026"
TEXT = (
    "Thông báo: chiều nay thôn Một tổ chức họp dân tại nhà văn hoá lúc 14 giờ. Đề nghị bà con đến đúng giờ."
)
ZONE = "thon-1"
DEVICES = ("loa-1", "loa-2")
SLOT_AFTER_BACKUP_S = 20.0  # the next slot: after the restored station is up, on a loaded machine too


def _database_url(backend: str) -> str | None:
    if backend == "sqlite":
        return None  # the station's own file in its data dir: destroyed with it
    if not database.server_answers():
        pytest.skip("no PostgreSQL server answers at 127.0.0.1:5432")
    return database.create_postgres_database()


def _agent(station: StationProcess, tmp: Path, device_id: str) -> AgentProcess:
    config = tmp / f"{device_id}.toml"
    station.cli(
        "device", "add", device_id, "--zone", ZONE, "--out", str(config), "--state-dir", f"state-{device_id}"
    )
    return AgentProcess(config=config, plays_dir=tmp / f"plays-{device_id}")


def _played(agent: AgentProcess, command_id: str | None = None, **match: Any) -> list[dict[str, Any]]:
    return [
        p
        for p in agent.plays()
        if (command_id is None or p.get("command_id") == command_id)
        and all(p.get(k) == v for k, v in match.items())
    ]


def _programme_version(tmp: Path, device_id: str) -> int:
    path = tmp / f"state-{device_id}" / "programmes.json"
    return int(json.loads(path.read_bytes())["zones"][ZONE]["version"]) if path.exists() else 0


def _accepted_high(tmp: Path, device_id: str) -> int:
    """Return the highest command number the agent accepted (edge_agent/sequence.py keeps it on disk)."""
    path = tmp / f"state-{device_id}" / "sequence.json"
    return int(json.loads(path.read_bytes())["high"]) if path.exists() else 0


def _tone(station: StationProcess, token: str, device_id: str) -> str:
    status, sent = station.request("POST", f"/api/devices/{device_id}/test-tone", token, {"duration_s": 0.5})
    assert status == 202, sent
    return str(sent["command_id"])


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_restored_station_keeps_its_agents_playing_without_touching_them(
    tmp_path: Path, backend: str
) -> None:
    began = time.monotonic()
    usb, secret = tmp_path / "usb", tmp_path / "passphrase.txt"
    secret.write_text(PASSPHRASE + "\n", encoding="utf-8")
    old = StationProcess(tmp_path / "station", database_url=_database_url(backend))
    old.data_dir.mkdir()
    agents = {d: _agent(old, tmp_path, d) for d in DEVICES}
    # One province-wide admin: writes, approves, sends device commands and reads the whole audit log.
    admin = old.account("quantri", "admin", "quan-ly-dai-phat-thanh", province=True)
    new = StationProcess(
        tmp_path / "restored",
        http_port=old.http_port,  # the new machine takes the old one's address: agent.toml is unchanged
        mqtt_port=old.mqtt_port,
        mqtt_tls_port=old.mqtt_tls_port,
        database_url=_database_url(backend),
    )

    with running(old, new, *agents.values()):
        old.start()
        for agent in agents.values():
            agent.start()

        def online(station: StationProcess) -> bool:
            status, devices = station.request("GET", "/api/devices", admin)
            return status == 200 and len(devices) == 2 and all(d["online"] for d in devices)

        assert wait_until(lambda: online(old), 20), old.log_tail()
        status, bulletin = old.request(
            "POST", "/api/bulletins", admin, {"title": "Họp dân", "text": TEXT, "zones": [ZONE]}
        )
        assert status == 201, bulletin
        assert old.request("POST", f"/api/bulletins/{bulletin['id']}/approve", admin)[0] == 200
        next_slot = round(time.time() + SLOT_AFTER_BACKUP_S, 3)
        slot = {"bulletin_id": bulletin["id"], "start_at": datetime.fromtimestamp(next_slot, UTC).isoformat()}
        assert old.request("POST", "/api/slots", admin, slot)[0] == 201
        assert wait_until(lambda: all(_programme_version(tmp_path, d) for d in DEVICES), 10), old.log_tail()

        old.cli("backup", "--to", str(usb), "--passphrase-file", str(secret))  # while it serves
        # After the backup the station goes on numbering: the agents accept commands the backup never saw.
        before = {d: _accepted_high(tmp_path, d) for d in DEVICES}
        for device_id in DEVICES:
            _tone(old, admin, device_id)
        assert wait_until(lambda: all(_accepted_high(tmp_path, d) > before[d] for d in DEVICES), 10)
        held = {d: _programme_version(tmp_path, d) for d in DEVICES}

        # The machine dies: station (and its tethered broker) killed, its data directory gone.
        assert old.process is not None
        old.process.send_signal(signal.SIGKILL)
        old.process.wait(timeout=10)
        assert wait_until(lambda: not (old.data_dir / "mosquitto" / "mosquitto.pid").exists(), 15)
        shutil.rmtree(old.data_dir)

        new.data_dir.parent.mkdir(exist_ok=True)
        out = new.cli("restore", "--from", str(usb), "--passphrase-file", str(secret))
        assert (new.data_dir / "restored.json").exists(), out
        new.start()
        assert wait_until(lambda: online(new), 20), new.log_tail()

        # The republished programme is taken (its version is above the one the agents hold) ...
        assert wait_until(lambda: all(_programme_version(tmp_path, d) > held[d] for d in DEVICES), 15)
        assert all(_programme_version(tmp_path, d) > SKIP for d in DEVICES)
        # ... and a command the restored station signs is accepted, not refused as a replay (its tone plays
        # too, unless a loaded machine delivers it after its start: the agent then skips it, as it should).
        _tone(new, admin, "loa-1")
        assert wait_until(lambda: _accepted_high(tmp_path, "loa-1") > SKIP, 10), new.log_tail()

        # The slot booked before the backup plays once, on time, on every agent.
        assert wait_until(
            lambda: all(_played(a, clip_sha256=bulletin["clip_sha256"]) for a in agents.values()), 30
        )
        for agent in agents.values():
            [play] = _played(agent, clip_sha256=bulletin["clip_sha256"])
            assert abs(play["started_at"] - next_slot) < ON_TIME_S, play["started_at"] - next_slot

        # The audit log says so: the restore, by the station, from which backup.
        status, found = new.request("GET", "/api/audit?action=backup.restore", admin)
        assert status == 200 and [e["actor"] for e in found["entries"]] == ["station"], found
    print(f"{backend}: {time.monotonic() - began:.1f} s")
