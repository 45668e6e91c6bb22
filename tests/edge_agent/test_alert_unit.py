"""Alerts without processes: the decision table, and where an alert's audio comes from."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from broadcast import protocol
from edge_agent.alerts import AlertPlayer, _Job
from edge_agent.cache import ClipCache
from edge_agent.config import AgentConfig
from edge_agent.gpio import make_relay
from edge_agent.gpio.amp import AmpControl
from edge_agent.handlers import AcceptedAlert, Rejected, decide
from edge_agent.outputs.file import FileSink
from edge_agent.playout import Playout
from tests.edge_agent.conftest import ClipServe

NOW = time.time()
CLIP = protocol.ClipRef("http://127.0.0.1:8080/clips/a.mp3", "ab" * 32, 10, 1.0)
ELSEWHERE = protocol.ClipRef("http://evil.example/clips/a.mp3", "ab" * 32, 10, 1.0)


def _alert(**kw: Any) -> protocol.AlertCommand:
    fields: dict[str, Any] = {"expires_at": NOW + 60, "zones": ("thon-1",), "clip": CLIP, **kw}
    return protocol.AlertCommand("alert-1", 1, NOW, alert_id=7, **fields)


def _cancel(**kw: Any) -> protocol.CancelCommand:
    fields: dict[str, Any] = {"expires_at": NOW + 60, "zones": ("thon-1",), "target": "alert-1", **kw}
    return protocol.CancelCommand("cancel-1", 1, NOW, **fields)


@pytest.mark.parametrize(
    ("command", "expected", "reason"),
    [
        (_alert(), None, ""),
        (_alert(preamble=CLIP, repeat=10, interval_s=0), None, ""),
        (_cancel(), None, ""),
        (_cancel(correction=CLIP), None, ""),
        (_alert(expires_at=NOW - 1), "expired", "expired 1.0 s ago"),
        (_cancel(expires_at=NOW - 1), "expired", "expired"),
        (_alert(zones=("thon-9",)), "not-for-me", "thon-9"),
        (_alert(preamble=ELSEWHERE), "bad-url", "evil.example"),
        (_cancel(correction=ELSEWHERE), "bad-url", "evil.example"),
    ],
)
def test_decide_alerts(
    command: protocol.AlertCommand | protocol.CancelCommand,
    expected: str | None,
    reason: str,
    agent_config: AgentConfig,
    station_key: tuple[bytes, str],
) -> None:
    decision = decide(protocol.sign_body(command.to_body(), station_key[0]), NOW, agent_config, set())
    if expected is None:
        assert isinstance(decision, AcceptedAlert) and decision.command == command
    else:
        assert isinstance(decision, Rejected) and decision.kind == expected and reason in decision.reason


def test_decide_alert_size_limits(
    agent_config: AgentConfig, station_key: tuple[bytes, str], make_body: Callable[..., dict[str, Any]]
) -> None:
    audio = b"x" * 100_000  # far above the 16 KiB of other commands, within MAX_ALERT_BYTES
    clip = protocol.ClipRef(CLIP.url, hashlib.sha256(audio).hexdigest(), len(audio), 5.0)
    alert = _alert(clip=clip, audio_b64=base64.b64encode(audio).decode())
    decision = decide(protocol.sign_body(alert.to_body(), station_key[0]), NOW, agent_config, set())
    assert isinstance(decision, AcceptedAlert)
    assert isinstance(decision.command, protocol.AlertCommand)
    assert decision.command.inline_audio() == audio
    big_play = protocol.sign_body(make_body(title="x" * 20_000), station_key[0])
    decision = decide(big_play, NOW, agent_config, set())
    assert isinstance(decision, Rejected) and decision.kind == "unverified"
    seen = decide(protocol.sign_body(alert.to_body(), station_key[0]), NOW, agent_config, {"alert-1"})
    assert isinstance(seen, Rejected) and seen.kind == "duplicate" and not seen.report


def _player(tmp_path: Path, reports: list[protocol.AgentMessage]) -> tuple[AlertPlayer, ClipCache]:
    cache = ClipCache(tmp_path / "clips", 10_000_000, attempts=1)
    output = FileSink(tmp_path / "plays")
    playout = Playout(output, "loa-01", reports.append)
    amp = AmpControl(make_relay(None, True), 0.0, 0.0)
    return AlertPlayer(output, "loa-01", cache=cache, playout=playout, amp=amp, report=reports.append), cache


@pytest.mark.parametrize("inline", ["matching", "mismatching", "absent"])
def test_alert_audio_inline_or_fetched(tmp_path: Path, serve_clips: ClipServe, inline: str) -> None:
    audio = b"ID3 lu quet" * 100
    (tmp_path / "www" / "clips").mkdir(parents=True)
    (tmp_path / "www" / "clips" / "a.mp3").write_bytes(audio)
    requests: list[str] = []
    base = serve_clips(tmp_path / "www", requests)
    clip = protocol.ClipRef(f"{base}/clips/a.mp3", hashlib.sha256(audio).hexdigest(), len(audio), 1.0)
    sent = {"matching": audio, "mismatching": b"tampered" + audio[8:], "absent": None}[inline]
    alert = _alert(clip=clip, audio_b64=base64.b64encode(sent).decode() if sent else None)
    player, cache = _player(tmp_path, [])
    path = player._audio(_Job(alert), clip, alert.audio_b64, alert.expires_at)
    assert path == cache.path_for(clip.sha256) and path.read_bytes() == audio
    assert requests == ([] if inline == "matching" else ["/clips/a.mp3"])


def test_cancel_before_alert_and_prefetch_pins(tmp_path: Path) -> None:
    reports: list[protocol.AgentMessage] = []
    player, _ = _player(tmp_path, reports)
    player.cancel(_cancel(target="alert-1"))
    player.alert(_alert())
    assert [r.reason for r in reports if isinstance(r, protocol.CommandRejected)] == [
        "cancelled before it arrived"
    ]
    assert not (tmp_path / "plays" / "plays.jsonl").exists()
    # Pinned clips survive eviction even when the cache is full.
    small = ClipCache(tmp_path / "small", 100)
    (tmp_path / "small" / ("aa" * 32)).write_bytes(b"x" * 90)
    small.pin({"aa" * 32})
    small._make_room(50)
    assert (tmp_path / "small" / ("aa" * 32)).exists()
