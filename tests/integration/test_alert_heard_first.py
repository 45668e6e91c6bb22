"""Heard first, with real processes: a station whose TTS engine is slow, a real edge agent (file sink).

The siren starts before the speech is synthesised and loops until it comes; an editor cannot cancel a
sent alert; a cancel during the siren loop stops it at once, and under the two-person rule the spoken
correction waits for a second approver.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any, cast

import pytest

from tests.support.station import AgentProcess, StationProcess, running, wait_until
from tests.support.tts_servers import GoogleTranslateTtsServer, _GoogleHandler

pytestmark = pytest.mark.integration


class SlowGoogle(GoogleTranslateTtsServer):
    """The Google TTS test server, answering `delay_s` late; `answered` holds when each answer went."""

    def __init__(self) -> None:
        super().__init__()
        self.delay_s = 0.0
        self.answered: list[float] = []
        self._httpd.RequestHandlerClass = _SlowHandler


class _SlowHandler(_GoogleHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        """Wait, then answer as the real test server does."""
        owner = cast(SlowGoogle, self.server.owner)
        owner.stopping.wait(owner.delay_s)
        super().do_POST()
        owner.answered.append(time.time())


def _alert_parts(agent: AgentProcess, since: float) -> list[dict[str, Any]]:
    return [p for p in agent.plays() if p.get("kind") == "alert" and p["started_at"] >= since]


def test_siren_first_speech_follows_and_role_bounds(tmp_path: Path) -> None:
    tts = SlowGoogle()
    with tts:
        station = StationProcess(
            tmp_path / "station",
            extra_env={
                "BROADCAST_QUIET_HOURS": "",
                "BROADCAST_TTS_ENGINE": "gtts",
                "BROADCAST_GTTS_URL": tts.url,
                "BROADCAST_ALERT_TWO_PERSON": "true",
            },
        )
        station.data_dir.mkdir()
        config = tmp_path / "loa-1.toml"
        station.cli("device", "add", "loa-1", "--zone", "thon-1", "--out", str(config), "--state-dir", "s")
        agent = AgentProcess(config=config, plays_dir=tmp_path / "plays")
        tokens = {}
        for name, role in (("canbo", "editor"), ("chutich", "approver"), ("phochutich", "approver")):
            station.cli(
                "user", "add", name, "--role", role, "--password-stdin", stdin=f"mk-{role}-dai-{len(name)}9\n"
            )
            tokens[name] = station.cli("token", "create", name).strip()
        with running(station, agent):
            station.start(timeout=60)
            agent.start()
            assert wait_until(
                lambda: station.request("GET", "/api/devices", tokens["chutich"])[1][0]["online"], 20
            )
            time.sleep(2)  # the programme (with the siren to prefetch) reaches the agent

            # 1. Raised by one approver, confirmed by the second while the speech is still being made.
            tts.delay_s = 10.0  # longer than the siren (about 6 s)
            began = time.time()
            status, alert = station.request(
                "POST",
                "/api/alerts",
                tokens["chutich"],
                {"text": "Lũ quét ở thượng nguồn bà con sơ tán ngay", "zones": ["thon-1"], "repeat": 1},
            )
            assert status == 201 and alert["status"] == "awaiting_confirmation", alert
            status, sent = station.request("POST", f"/api/alerts/{alert['id']}/confirm", tokens["phochutich"])
            assert status == 200 and sent["status"] == "sent" and sent["speech_status"] == "pending", sent
            assert wait_until(lambda: any(p["part"] == "audio" for p in _alert_parts(agent, began)), 40), (
                station.log_tail()
            )
            parts = _alert_parts(agent, began)
            names = [p["part"] for p in parts]
            assert names[-1] == "audio" and set(names[:-1]) == {"preamble"} and len(names) >= 3, names
            assert parts[0]["started_at"] < tts.answered[-1]  # the siren sounded before the speech existed
            for before, after in itertools.pairwise(parts):
                assert after["started_at"] - (before["started_at"] + before["duration_s"]) < 0.5  # no gap
            _, shown = station.request("GET", f"/api/alerts/{alert['id']}", tokens["chutich"])
            assert shown["speech_status"] == "sent" and shown["audio_url"], shown

            # 2. An editor cannot silence a sent alert.
            status, refused = station.request(
                "POST", f"/api/alerts/{alert['id']}/cancel", tokens["canbo"], {}
            )
            assert status == 403 and "không được huỷ" in refused["detail"]

            # 3. Cancel during the siren loop: the stop is immediate, the correction waits for approver 2.
            tts.delay_s = 20.0
            second_began = time.time()
            _, second = station.request(
                "POST",
                "/api/alerts",
                tokens["chutich"],
                {"text": "Cháy rừng phía tây bà con tránh xa", "zones": ["thon-1"]},
            )
            station.request("POST", f"/api/alerts/{second['id']}/confirm", tokens["phochutich"])
            assert wait_until(lambda: len(_alert_parts(agent, second_began)) >= 2, 30)  # the siren loops
            stopped_at = time.time()
            status, stopped = station.request(
                "POST", f"/api/alerts/{second['id']}/cancel", tokens["chutich"], {}
            )
            assert status == 200 and stopped["correction_status"] == "awaiting", stopped
            time.sleep(3)
            heard = _alert_parts(agent, second_began)
            assert all(p["part"] == "preamble" for p in heard)
            assert all(p["started_at"] < stopped_at + 1.0 for p in heard)  # nothing started after the stop
            own = station.request("POST", f"/api/alerts/{second['id']}/correction", tokens["chutich"])
            assert own[0] == 403
            status, fixed = station.request(
                "POST", f"/api/alerts/{second['id']}/correction", tokens["phochutich"]
            )
            assert status == 200 and fixed["correction_status"] == "sent"
            assert wait_until(
                lambda: any(p["part"] == "correction" for p in _alert_parts(agent, stopped_at)), 15
            ), station.log_tail()
            tts.delay_s = 0.0
