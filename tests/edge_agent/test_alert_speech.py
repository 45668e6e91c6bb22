"""Heard first on the agent: the alert_speech command (parse, forgery) and siren -> speech without a gap."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import time
from pathlib import Path
from typing import Any

import pytest

from broadcast import protocol
from edge_agent.alerts import AlertPlayer
from edge_agent.cache import ClipCache
from edge_agent.config import AgentConfig
from edge_agent.gpio import make_relay
from edge_agent.gpio.amp import AmpControl
from edge_agent.handlers import AcceptedAlert, Rejected, decide
from edge_agent.outputs.file import FileSink
from edge_agent.playout import Playout

BASE = "http://127.0.0.1:8080"
SPEECH_AUDIO = b"ID3 loi canh bao" * 50
SIREN_AUDIO = b"siren" * 40


def _ref(data: bytes, duration_s: float, url: str = BASE) -> protocol.ClipRef:
    sha = hashlib.sha256(data).hexdigest()
    return protocol.ClipRef(f"{url}/clips/{sha}.mp3", sha, len(data), duration_s)


SIREN = _ref(SIREN_AUDIO, 0.2)
SPEECH = _ref(SPEECH_AUDIO, 0.3)


def _alert(**kw: Any) -> protocol.AlertCommand:
    now = time.time()
    fields: dict[str, Any] = {
        "expires_at": now + 60, "zones": ("thon-1",), "clip": SIREN, "preamble": SIREN, "repeat": 2,
        "interval_s": 0.0, "speech_follows": True, **kw,
    }  # fmt: skip
    return protocol.AlertCommand("alert-1", 1, now, alert_id=7, **fields)


def _speech(**kw: Any) -> protocol.AlertSpeechCommand:
    now = time.time()
    fields: dict[str, Any] = {
        "expires_at": now + 60, "zones": ("thon-1",), "target": "alert-1", "alert_id": 7, "clip": SPEECH,
        "audio_b64": base64.b64encode(SPEECH_AUDIO).decode(), **kw,
    }  # fmt: skip
    return protocol.AlertSpeechCommand("speech-1", 2, now, **fields)


def test_speech_command_round_trip_and_old_alerts_read_as_before(
    agent_config: AgentConfig, station_key: tuple[bytes, str]
) -> None:
    speech = _speech()
    decision = decide(protocol.sign_body(speech.to_body(), station_key[0]), time.time(), agent_config, set())
    assert isinstance(decision, AcceptedAlert) and decision.command == speech
    assert speech.inline_audio() == SPEECH_AUDIO
    # An alert with its speech carries no speech_follows key: agents and stored commands read as before.
    whole = _alert(clip=SPEECH, speech_follows=False)
    assert "speech_follows" not in whole.to_body()
    assert protocol.parse_command(whole.to_body()) == whole
    assert protocol.parse_alert_command(_alert().to_body()).speech_follows is True


def _mutated(body: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    out = {**body, **change}
    return {k: v for k, v in out.items() if v is not None}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"target": None}, "target"),
        ({"target": ""}, "target"),
        ({"target": "x" * 65}, "target"),
        ({"clip": None}, "clip"),
        ({"clip": {"url": "ftp://x", "sha256": "ab" * 32, "size": 1, "duration_s": 1.0}}, "http"),
        ({"audio_b64": "not base64!"}, "base64"),
        ({"audio_b64": 12}, "base64"),
        ({"alert_id": "7"}, "alert_id"),
        ({"kind": "alert_speeches"}, "kind"),
    ],
)
def test_malformed_speech_commands_are_rejected(
    agent_config: AgentConfig, station_key: tuple[bytes, str], change: dict[str, Any], reason: str
) -> None:
    body = _mutated(_speech().to_body(), change)
    decision = decide(protocol.sign_body(body, station_key[0]), time.time(), agent_config, set())
    assert isinstance(decision, Rejected) and decision.kind == "malformed"
    assert reason in decision.reason


def test_forged_elsewhere_and_expired_speech_is_refused(
    agent_config: AgentConfig, station_key: tuple[bytes, str], other_key: tuple[bytes, str]
) -> None:
    forged = decide(protocol.sign_body(_speech().to_body(), other_key[0]), time.time(), agent_config, set())
    assert isinstance(forged, Rejected) and forged.kind in ("unverified", "unknown-key")
    signed = json.loads(protocol.sign_body(_speech().to_body(), station_key[0]))
    signed["target"] = "another-alert"  # changed after signing
    tampered = decide(json.dumps(signed).encode(), time.time(), agent_config, set())
    assert isinstance(tampered, Rejected) and tampered.kind == "unverified"
    away = _speech(clip=_ref(SPEECH_AUDIO, 0.3, "http://evil.example"))
    decision = decide(protocol.sign_body(away.to_body(), station_key[0]), time.time(), agent_config, set())
    assert isinstance(decision, Rejected) and decision.kind == "bad-url"
    late = protocol.sign_body(_speech(expires_at=time.time() - 5).to_body(), station_key[0])
    decision = decide(late, time.time(), agent_config, set())
    assert isinstance(decision, Rejected) and decision.kind == "expired"


def _player(tmp_path: Path, reports: list[protocol.AgentMessage], wait_s: float = 10.0) -> AlertPlayer:
    cache = ClipCache(tmp_path / "clips", 10_000_000, attempts=1)
    cache.put(SIREN, SIREN_AUDIO)  # prefetched through the programme, as every agent has it
    output = FileSink(tmp_path / "plays")
    playout = Playout(output, "loa-01", reports.append)
    amp = AmpControl(make_relay(None, True), 0.0, 0.0)
    return AlertPlayer(
        output, "loa-01", cache=cache, playout=playout, amp=amp, report=reports.append, speech_wait_s=wait_s
    )


def _parts(tmp_path: Path) -> list[tuple[str, float, float]]:
    path = tmp_path / "plays" / "plays.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [(r["part"], r["started_at"], r["duration_s"]) for r in map(json.loads, lines)]


def _until(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.serial  # a 0.15 s gap bound
def test_the_siren_loops_until_the_speech_comes_then_speech_repeats(tmp_path: Path) -> None:
    player = _player(tmp_path, [])
    player.alert(_alert())
    _until(lambda: len(_parts(tmp_path)) >= 3)  # the siren played three times: no speech yet
    assert {p for p, _, _ in _parts(tmp_path)} == {"preamble"}
    player.speech(_speech())
    _until(lambda: [p for p, _, _ in _parts(tmp_path)].count("audio") == 2)
    parts = _parts(tmp_path)
    names = [p for p, _, _ in parts]
    first_audio = names.index("audio")
    assert set(names[:first_audio]) == {"preamble"} and first_audio >= 3
    assert names[first_audio:] == ["audio", "preamble", "audio"]  # then speech x repeat (interval 0)
    # No silent gap: each part starts where the one before ended (threads on a shared machine: loose).
    for (_, start, length), (_, following, _) in itertools.pairwise(parts):
        assert following - (start + length) < 0.15
    player.stop()


def test_speech_before_its_alert_is_kept_and_played(tmp_path: Path) -> None:
    player = _player(tmp_path, [])
    player.speech(_speech())
    player.alert(_alert(repeat=1))
    _until(lambda: "audio" in [p for p, _, _ in _parts(tmp_path)])
    assert [p for p, _, _ in _parts(tmp_path)] == ["preamble", "audio"]  # no loop: it was there
    player.stop()


def test_no_speech_within_the_bound_stops_the_siren_and_reports(tmp_path: Path) -> None:
    reports: list[protocol.AgentMessage] = []
    player = _player(tmp_path, reports, wait_s=0.5)
    player.alert(_alert())
    _until(lambda: any(isinstance(r, protocol.CommandRejected) for r in reports))
    rejected = [r for r in reports if isinstance(r, protocol.CommandRejected)]
    assert rejected[0].command_id == "alert-1" and "no speech within 0.5 s" in rejected[0].reason
    count = len(_parts(tmp_path))
    time.sleep(0.5)
    assert len(_parts(tmp_path)) == count and 2 <= count <= 5  # the siren stopped
    assert player.now_playing() is None
    player.stop()


def test_cancel_during_the_siren_loop_stops_at_once(tmp_path: Path) -> None:
    player = _player(tmp_path, [])
    long_siren = _ref(SIREN_AUDIO, 5.0)
    player.cache.put(long_siren, SIREN_AUDIO)
    player.alert(_alert(preamble=long_siren, clip=long_siren))
    _until(lambda: len(_parts(tmp_path)) == 1)
    now = time.time()
    player.cancel(protocol.CancelCommand("cancel-1", 3, now, now + 60, ("thon-1",), target="alert-1"))
    _until(lambda: player.now_playing() is None, timeout=1.0)  # a 5 s siren cut short
    player.speech(_speech())  # late speech of a cancelled alert: ignored
    time.sleep(0.3)
    assert [p for p, _, _ in _parts(tmp_path)] == ["preamble"]
    player.stop()
