"""The spine end to end: web API -> approve -> schedule -> MQTT -> two real agents play on the same tick."""

from __future__ import annotations

import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from broadcast.audio import decode_duration, ffmpeg_exe, measure_loudness
from tests.support.station import AgentProcess, StationProcess, running, wait_until
from tests.support.timing import ON_TIME_S

pytestmark = pytest.mark.integration

TEXT = (
    "UBND xã thông báo: ngày 15/5/2025 lúc 7h30, trạm y tế xã tổ chức tiêm chủng cho trẻ em dưới 5 tuổi. "
    "Đề nghị các gia đình đưa con em đến đúng giờ và mang theo sổ tiêm chủng."
)


def _enrol(station: StationProcess, tmp: Path, device_id: str, zone: str) -> AgentProcess:
    config = tmp / f"{device_id}.toml"
    station.cli(
        "device", "add", device_id, "--zone", zone, "--out", str(config), "--state-dir", f"state-{device_id}"
    )
    return AgentProcess(config=config, plays_dir=tmp / f"plays-{device_id}")


def test_bulletin_plays_on_every_agent_of_its_zone_at_the_scheduled_second(tmp_path: Path) -> None:
    station = StationProcess(tmp_path / "station")
    station.data_dir.mkdir()
    a1 = _enrol(station, tmp_path, "loa-a1", "thon-1")
    a2 = _enrol(station, tmp_path, "loa-a2", "thon-1")
    b1 = _enrol(station, tmp_path, "loa-b1", "thon-2")
    station.cli("user", "add", "canbo", "--role", "editor", "--password-stdin", stdin="mat-khau-bien-tap\n")
    station.cli(
        "user", "add", "chutich", "--role", "approver", "--password-stdin", stdin="mat-khau-duyet-tin\n"
    )
    editor = station.cli("token", "create", "canbo").strip()
    approver = station.cli("token", "create", "chutich").strip()

    with running(station, a1, a2, b1):
        station.start()
        for agent in (a1, a2, b1):
            agent.start()

        def all_online() -> bool:
            status, devices = station.request("GET", "/api/devices", editor)
            return status == 200 and len(devices) == 3 and all(d["online"] for d in devices)

        assert wait_until(all_online, 20), station.log_tail()

        status, bulletin = station.request(
            "POST", "/api/bulletins", editor, {"title": "Lịch tiêm chủng", "text": TEXT, "zones": ["thon-1"]}
        )
        assert status == 201, bulletin
        assert bulletin["status"] == "draft"
        assert "ủy ban nhân dân" in bulletin["spoken_text"].lower()

        # Not approved yet: cannot be scheduled; an editor cannot approve.
        soon = datetime.now(UTC).timestamp() + 5
        slot_body = {"bulletin_id": bulletin["id"], "start_at": datetime.fromtimestamp(soon, UTC).isoformat()}
        assert station.request("POST", "/api/slots", editor, slot_body)[0] == 409
        assert station.request("POST", f"/api/bulletins/{bulletin['id']}/approve", editor)[0] == 403
        status, approved = station.request("POST", f"/api/bulletins/{bulletin['id']}/approve", approver)
        assert status == 200 and approved["status"] == "ready"

        start_at = round(time.time() + 6, 3)
        slot_body = {
            "bulletin_id": bulletin["id"],
            "start_at": datetime.fromtimestamp(start_at, UTC).isoformat(),
            "zones": ["thon-1"],
        }
        status, slot = station.request("POST", "/api/slots", editor, slot_body)
        assert status == 201, slot

        assert wait_until(lambda: a1.plays() and a2.plays(), timeout=20), station.log_tail()
        time.sleep(2)  # give the other zone's agent every chance to (wrongly) play
        plays = [a1.plays(), a2.plays()]
        for agent_plays in plays:
            assert len(agent_plays) == 1
            play = agent_plays[0]
            assert play["clip_sha256"] == bulletin["clip_sha256"]
            assert abs(play["started_at"] - start_at) < ON_TIME_S, play["started_at"] - start_at
            assert play["priority"] == "normal"
        assert b1.plays() == []

        # The clip is real Vietnamese speech at broadcast loudness.
        with urllib.request.urlopen(f"{station.url}{bulletin['audio_url']}", timeout=10) as response:
            clip = response.read()
        ffmpeg = ffmpeg_exe(None)
        duration = decode_duration(clip, ffmpeg)
        assert duration == pytest.approx(bulletin["duration_s"], abs=0.2)
        assert 6 < len(bulletin["spoken_text"]) / duration < 25  # characters per second of a human reader
        assert -17.0 <= measure_loudness(clip, ffmpeg) <= -15.0
        played_file = next(p for p in (tmp_path / "plays-loa-a1").iterdir() if p.suffix == ".mp3")
        assert played_file.read_bytes() == clip

        def both_reported() -> bool:
            _, rows = station.request(
                "GET", f"/api/plays?bulletin_id={bulletin['id']}&outcome=played", editor
            )
            return {r["device_id"] for r in rows} == {"loa-a1", "loa-a2"}

        assert wait_until(both_reported, 10), station.log_tail()
