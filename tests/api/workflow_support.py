"""Support for the bulletin-workflow tests: one in-process station per module, web login, real audio files."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from broadcast.app import create_app
from broadcast.audio import ffmpeg_exe
from broadcast.config import Settings
from broadcast.fleet import devices
from broadcast.people import accounts
from broadcast.station import Station
from tests.api.conftest import Api
from tests.support import database
from tests.support.free_port import free_port

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
EDITOR = ("canbo", "mat-khau-bien-tap")
APPROVER = ("chutich", "mat-khau-duyet-tin")


@contextmanager
def running_station(directory: Path, **overrides: Any) -> Iterator[Api]:
    """Start a station (real database, Mosquitto, scheduler) with an editor, an approver and one zone.

    Module-scoped fixtures share it: starting one costs seconds, and each test makes its own bulletins.
    """
    settings = Settings(
        data_dir=directory / "var",
        database_url=database.fresh_database_url(directory / "db"),
        mqtt_port=free_port(),
        mqtt_tls_port=free_port(),
        public_url="http://127.0.0.1:1",
        push_lead_s=1.0,
        **{"quiet_hours": "", **overrides},  # slots seconds ahead must not depend on the hour of the run
    )
    with TestClient(create_app(settings)) as client:
        station: Station = client.app.state.station  # type: ignore[attr-defined]
        with station.db.session() as session:
            accounts.add_user(session, EDITOR[0], "editor", EDITOR[1])
            accounts.add_user(session, APPROVER[0], "approver", APPROVER[1])
            devices.add_device(
                session, settings.broker, "loa-1", "thon-1", directory / "s1", "file:p1", "test"
            )
            editor = accounts.issue_token(session, EDITOR[0])
            approver = accounts.issue_token(session, APPROVER[0])
        yield Api(
            client, station, {"Authorization": f"Bearer {editor}"}, {"Authorization": f"Bearer {approver}"}
        )


def web_client(api: Api, who: tuple[str, str]) -> tuple[TestClient, str]:
    """Return a second client on the same app logged in as `who`, and its CSRF token."""
    client = TestClient(api.client.app)
    response = client.post("/login", data={"name": who[0], "password": who[1]}, follow_redirects=False)
    assert response.status_code == 303, response.text
    match = CSRF.search(client.get("/bulletins").text)
    assert match
    return client, match.group(1)


def ffmpeg(*args: str) -> None:
    """Run the station's ffmpeg (the imageio-ffmpeg wheel's) quietly; fail the test on error."""
    subprocess.run(
        [ffmpeg_exe(None), "-hide_banner", "-loglevel", "error", "-y", *args], check=True, timeout=60
    )


def tone(path: Path, seconds: float, *, volume: float = 0.5, rate: int = 44100, channels: int = 2) -> Path:
    """Write a warbling tone (a stand-in for a voice) as WAV or MP3, by the file's extension."""
    codec = ["-c:a", "libmp3lame", "-b:a", "128k"] if path.suffix == ".mp3" else []
    ffmpeg(
        *("-f", "lavfi", "-i", f"sine=frequency=330:beep_factor=3:duration={seconds}"),
        *("-af", f"volume={volume}", "-ac", str(channels), "-ar", str(rate), *codec, str(path)),
    )
    return path


def stream_info(data: bytes, directory: Path) -> str:
    """Return ffmpeg's description of the audio stream in `data` (codec, rate, channels)."""
    path = directory / "probe.mp3"
    path.write_bytes(data)
    result = subprocess.run(
        [ffmpeg_exe(None), "-hide_banner", "-i", str(path)], capture_output=True, timeout=60, check=False
    )
    found = re.search(r"Audio: .*", result.stderr.decode(errors="replace"))
    assert found, result.stderr
    return found.group(0)
