"""A station keeping its clips in S3 (moto): a bulletin is rendered, streamed and played by an agent."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.s3_server import S3Server, s3_server
from tests.support.station import AgentProcess, StationProcess, running, wait_until

pytestmark = pytest.mark.integration

TEXT = "Thông báo: chiều nay lúc 14h, thôn 1 họp dân tại nhà văn hoá để bàn việc làm đường."


@pytest.fixture
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


def _get(url: str) -> tuple[int, bytes, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=20) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def test_a_bulletin_in_object_storage_reaches_the_speaker(tmp_path: Path, s3: S3Server) -> None:
    bucket = s3.new_bucket()
    station = StationProcess(tmp_path / "station", extra_env={**s3.env(bucket, "xa-an-binh")})
    station.data_dir.mkdir()
    config = tmp_path / "loa-1.toml"
    station.cli("device", "add", "loa-1", "--zone", "thon-1", "--out", str(config), "--state-dir", "state")
    agent = AgentProcess(config=config, plays_dir=tmp_path / "plays")
    station.cli("user", "add", "canbo", "--role", "editor", "--password-stdin", stdin="mat-khau-bien-tap\n")
    station.cli("user", "add", "chutich", "--role", "approver", "--password-stdin", stdin="mat-khau-duyet\n")
    editor = station.cli("token", "create", "canbo").strip()
    approver = station.cli("token", "create", "chutich").strip()
    client = s3.client()

    with running(station, agent):
        station.start()
        agent.start()
        status, bulletin = station.request(
            "POST", "/api/bulletins", editor, {"title": "Họp dân", "text": TEXT, "zones": ["thon-1"]}
        )
        assert status == 201, bulletin
        sha = bulletin["clip_sha256"]
        response = client.get_object(bucket, f"xa-an-binh/{sha}.mp3")
        stored = response.read()
        response.release_conn()
        assert not list((station.data_dir / "clips").glob("*.mp3"))  # nothing kept on the worker's disk

        # Streamed through the station (the agents' one trusted origin), byte for byte.
        status, body, headers = _get(f"{station.url}/clips/{sha}.mp3")
        assert status == 200
        assert body == stored
        assert headers["content-type"] == "audio/mpeg"
        assert int(headers["content-length"]) == len(stored)
        assert _get(f"{station.url}/clips/{'0' * 64}.mp3")[0] == 404

        assert station.request("POST", f"/api/bulletins/{bulletin['id']}/approve", approver)[0] == 200
        start_at = round(time.time() + 6, 3)
        slot = {
            "bulletin_id": bulletin["id"],
            "start_at": datetime.fromtimestamp(start_at, UTC).isoformat(),
            "zones": ["thon-1"],
        }
        assert station.request("POST", "/api/slots", editor, slot)[0] == 201
        assert wait_until(agent.plays, 25), station.log_tail()
        [play] = agent.plays()
        assert play["clip_sha256"] == sha
        # On time; start precision is measured alone (test_spine, agent tests, bench/sync_start.py).
        assert abs(play["started_at"] - start_at) < 0.5
        played = next(p for p in agent.plays_dir.iterdir() if p.suffix == ".mp3")
        assert played.read_bytes() == stored

        # The object store goes away: clips and new bulletins fail clearly, and nothing half-stored.
        s3.stop()
        status, body, _ = _get(f"{station.url}/clips/{sha}.mp3")
        assert status == 503, body
        assert "Kho âm thanh" in body.decode()
        status, answer = station.request(
            "POST",
            "/api/bulletins",
            editor,
            {"title": "Tin mới", "text": "Tin mới của xã.", "zones": ["thon-1"]},
        )
        assert status == 503, answer
        assert "Kho âm thanh" in answer["detail"]
        _, listed = station.request("GET", "/api/bulletins", editor)
        assert [b["id"] for b in listed] == [bulletin["id"]]
