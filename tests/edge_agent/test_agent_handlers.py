"""Table-driven tests of the pure command decision (signature, validity, zone, duplicate, url)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from broadcast import protocol
from edge_agent.config import AgentConfig
from edge_agent.handlers import (
    Accepted,
    AcceptedAlert,
    AcceptedControl,
    AcceptedStream,
    Rejected,
    decide,
    is_under,
)
from edge_agent.sequence import WINDOW, SequenceStore, SeqWindow

NOW = time.time()


@dataclass(frozen=True)
class Keys:
    make_body: Callable[..., dict[str, Any]]
    station: bytes
    forger: bytes

    def signed(self, **overrides: Any) -> bytes:
        return protocol.sign_body(self.make_body(**overrides), self.station)


def _tampered(keys: Keys) -> bytes:
    wire = json.loads(keys.signed())
    wire["start_at"] += 3600  # a replayer moving a bulletin to another hour
    return json.dumps(wire).encode()


def _claiming_station_kid(keys: Keys) -> bytes:
    """Sign with the forger's key but name the station's key id (a forger would)."""
    station_kid = json.loads(keys.signed())["kid"]
    body = {**keys.make_body(), "kid": station_kid}
    signature = Ed25519PrivateKey.from_private_bytes(keys.forger).sign(protocol.canonical_json(body))
    return protocol.canonical_json({**body, "sig": base64.b64encode(signature).decode()})


def _without_kid(keys: Keys) -> bytes:
    """Sign the way the station did before signatures named their key."""
    body = keys.make_body()
    signature = Ed25519PrivateKey.from_private_bytes(keys.station).sign(protocol.canonical_json(body))
    return protocol.canonical_json({**body, "sig": base64.b64encode(signature).decode()})


def _clip(url: str) -> dict[str, Any]:
    return {"url": url, "sha256": "ab" * 32, "size": 10, "duration_s": 1.0}


# (case, payload, expected kind or None for accepted, text the reason must contain)
CASES: list[tuple[str, Callable[[Keys], bytes], str | None, str]] = [
    ("valid", lambda k: k.signed(id="fresh"), None, ""),
    ("valid for second zone", lambda k: k.signed(zones=["thon-9", "thon-2"]), None, ""),
    ("signed before key ids", _without_kid, None, ""),
    (
        "forged with another key",
        lambda k: protocol.sign_body(k.make_body(), k.forger),
        "unknown-key",
        "bad signature",
    ),
    ("forged naming the station's key", _claiming_station_kid, "unverified", "bad signature"),
    ("unsigned", lambda k: protocol.canonical_json(k.make_body()), "unverified", "unsigned"),
    ("tampered field", _tampered, "unverified", "bad signature"),
    (
        "signature not base64",
        lambda k: protocol.canonical_json({**k.make_body(), "sig": "!!"}),
        "unverified",
        "bad",
    ),
    ("expired", lambda k: k.signed(start_at=NOW - 30, expires_at=NOW - 1), "expired", "expired"),
    ("wrong zone", lambda k: k.signed(zones=["thon-9"]), "not-for-me", "thon-9"),
    ("duplicate", lambda k: k.signed(id="seen-before"), "duplicate", "already"),
    (
        "replayed after its expiry",
        lambda k: k.signed(id="seen-before", start_at=NOW - 30, expires_at=NOW - 10),
        "replay",
        "replayed",
    ),
    ("bad url host", lambda k: k.signed(clip=_clip("http://evil.example/clips/a.mp3")), "bad-url", "evil"),
    (
        "url userinfo trick",
        lambda k: k.signed(clip=_clip("http://127.0.0.1:8080@evil.example/a")),
        "bad-url",
        "",
    ),
    ("url other port", lambda k: k.signed(clip=_clip("http://127.0.0.1:9999/clips/a.mp3")), "bad-url", ""),
    ("garbage bytes", lambda k: b"\x00\x01garbage{", "unverified", "JSON"),
    ("non-UTF-8", lambda k: b'{"id": "\xff\xfe"}', "unverified", "UTF-8"),
    ("huge payload", lambda k: k.signed(title="x" * 20_000), "unverified", "too large"),
    ("deeply nested", lambda k: b"[" * 10_000, "unverified", "JSON"),
    ("not an object", lambda k: b"[1, 2]", "unverified", "not a JSON object"),
    (
        "missing clip",
        lambda k: protocol.sign_body(_without(k.make_body(), "clip"), k.station),
        "malformed",
        "clip",
    ),
    ("unknown priority", lambda k: k.signed(priority="urgent"), "malformed", "priority"),
    (
        "starts after expiry",
        lambda k: k.signed(start_at=NOW + 100, expires_at=NOW + 50),
        "malformed",
        "after",
    ),
    ("other protocol version", lambda k: k.signed(v=2), "malformed", "version"),
]


def _without(body: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != key}


@pytest.mark.parametrize(("case", "payload", "kind", "reason"), CASES, ids=[c[0] for c in CASES])
def test_decide(
    case: str,
    payload: Callable[[Keys], bytes],
    kind: str | None,
    reason: str,
    agent_config: AgentConfig,
    make_body: Callable[..., dict[str, Any]],
    station_key: tuple[bytes, str],
    other_key: tuple[bytes, str],
) -> None:
    keys = Keys(make_body, station_key[0], other_key[0])
    decision = decide(payload(keys), NOW, agent_config, {"seen-before"})
    if kind is None:
        assert isinstance(decision, Accepted), decision
        assert decision.command.clip.url == "http://127.0.0.1:8080/clips/a.mp3"
    else:
        assert isinstance(decision, Rejected)
        assert decision.kind == kind, decision
        assert reason in decision.reason
        assert decision.report == (kind != "duplicate")


def test_rejection_carries_the_command_id_when_known(
    agent_config: AgentConfig, make_body: Callable[..., dict[str, Any]], other_key: tuple[bytes, str]
) -> None:
    forged = protocol.sign_body(make_body(id="claimed-id"), other_key[0])
    decision = decide(forged, NOW, agent_config, set())
    assert isinstance(decision, Rejected)
    assert decision.command_id == "claimed-id"
    assert isinstance(decide(b"\xff", NOW, agent_config, set()), Rejected)


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("http://127.0.0.1:8080/clips/a.mp3", "http://127.0.0.1:8080", True),
        ("http://127.0.0.1:8080/clips/a.mp3", "http://127.0.0.1:8080/clips/", True),
        ("http://127.0.0.1:8080/clips/a.mp3", "http://127.0.0.1:8080/clips", True),
        ("http://127.0.0.1:8080/clipsevil/a.mp3", "http://127.0.0.1:8080/clips", False),
        ("http://127.0.0.1:8080/clips/../admin", "http://127.0.0.1:8080/clips", False),
        ("https://127.0.0.1:8080/clips/a.mp3", "http://127.0.0.1:8080", False),
        ("http://127.0.0.1/clips/a.mp3", "http://127.0.0.1:8080", False),
        ("http://user@127.0.0.1:8080/a.mp3", "http://127.0.0.1:8080", False),
        ("http://127.0.0.1:8080@evil.example/a.mp3", "http://127.0.0.1:8080", False),
        ("http://127.0.0.1:99999/a.mp3", "http://127.0.0.1:8080", False),
        ("http://STATION.example/a.mp3", "http://station.example", True),
    ],
)
def test_is_under(url: str, base: str, expected: bool) -> None:
    assert is_under(url, base) is expected


def _control(kind: str, **overrides: Any) -> dict[str, Any]:
    command: protocol.VolumeCommand | protocol.TestToneCommand
    if kind == "volume":
        command = protocol.VolumeCommand("vol-1", 1, NOW, NOW + 60, ("thon-1",), 60)
    else:
        command = protocol.TestToneCommand("tone-1", 1, NOW, NOW + 60, NOW + 5, ("thon-1",), 3.0, 1000.0)
    return {**command.to_body(), **overrides}


# (case, kind, overrides, signed by the station, expected kind or None for accepted, reason text)
CONTROL_CASES: list[tuple[str, str, dict[str, Any], bool, str | None, str]] = [
    ("volume", "volume", {}, True, None, ""),
    ("test tone", "test_tone", {}, True, None, ""),
    ("volume second zone", "volume", {"zones": ["thon-9", "thon-2"]}, True, None, ""),
    ("volume forged", "volume", {}, False, "unknown-key", "bad signature"),
    ("volume other zone", "volume", {"zones": ["thon-9"]}, True, "not-for-me", "thon-9"),
    ("volume expired", "volume", {"expires_at": NOW - 1}, True, "expired", "expired"),
    ("volume duplicate", "volume", {"id": "seen-before"}, True, "duplicate", "already"),
    ("volume too loud", "volume", {"level": 150}, True, "malformed", "0-100"),
    ("tone starts after expiry", "test_tone", {"start_at": NOW + 90}, True, "malformed", "after"),
    ("tone too long", "test_tone", {"duration_s": 600}, True, "malformed", "duration_s"),
]


@pytest.mark.parametrize(
    ("case", "kind", "overrides", "genuine", "expected", "reason"),
    CONTROL_CASES,
    ids=[c[0] for c in CONTROL_CASES],
)
def test_decide_control_commands(
    case: str,
    kind: str,
    overrides: dict[str, Any],
    genuine: bool,
    expected: str | None,
    reason: str,
    agent_config: AgentConfig,
    station_key: tuple[bytes, str],
    other_key: tuple[bytes, str],
) -> None:
    key = station_key[0] if genuine else other_key[0]
    decision = decide(
        protocol.sign_body(_control(kind, **overrides), key), NOW, agent_config, {"seen-before"}
    )
    if expected is None:
        assert isinstance(decision, AcceptedControl), decision
        assert decision.command.kind == kind
    else:
        assert isinstance(decision, Rejected), decision
        assert decision.kind == expected and reason in decision.reason


def test_decide_streams_and_alerts(agent_config: AgentConfig, station_key: tuple[bytes, str]) -> None:
    stream = protocol.StreamCommand(
        "vov1", 1, NOW, NOW + 60, NOW + 5, "normal", ("thon-1",), "https://radio.example/vov1", 60.0
    )
    decision = decide(protocol.sign_body(stream.to_body(), station_key[0]), NOW, agent_config, set())
    assert isinstance(decision, AcceptedStream) and decision.command == stream  # not under station_url
    clip = protocol.ClipRef("http://127.0.0.1:8080/clips/a.mp3", "ab" * 32, 10, 1.0)
    cancel = protocol.CancelCommand("cancel-1", 1, NOW, NOW + 60, ("thon-1",), target="alert-1")
    alert = protocol.AlertCommand("alert-1", 1, NOW, NOW + 60, ("thon-1",), alert_id=7, clip=clip)
    for command in (alert, cancel):
        decision = decide(protocol.sign_body(command.to_body(), station_key[0]), NOW, agent_config, set())
        assert isinstance(decision, AcceptedAlert) and decision.command == command


@pytest.mark.parametrize(
    ("seq", "window", "refused"),
    [
        (11, SeqWindow(10, frozenset({10})), None),  # the next command
        (10, SeqWindow(10, frozenset({10})), "already accepted"),  # a number used twice
        (9, SeqWindow(10, frozenset({10})), None),  # overtaken (an alert retried late): once
        (9, SeqWindow(10, frozenset({9, 10})), "already accepted"),
        (10, SeqWindow(10 + WINDOW, frozenset()), "far below"),  # an old command, its id long forgotten
        (1, SeqWindow(), None),  # a fresh agent
    ],
)
def test_sequence_window(
    seq: int,
    window: SeqWindow,
    refused: str | None,
    agent_config: AgentConfig,
    make_body: Callable[..., dict[str, Any]],
    station_key: tuple[bytes, str],
) -> None:
    payload = protocol.sign_body(make_body(seq=seq), station_key[0])
    decision = decide(payload, NOW, agent_config, set(), window=window)
    if refused is None:
        assert isinstance(decision, Accepted), decision
        assert decision.command.seq not in window.recent and seq in window.accept(seq).recent
    else:
        assert isinstance(decision, Rejected) and decision.kind == "replay" and decision.report
        assert refused in decision.reason
    # Without a window (programme entries, restores) the number is not checked.
    assert isinstance(decide(payload, NOW, agent_config, set()), Accepted)


def test_window_forgets_numbers_far_below_and_survives_restarts(tmp_path: Path) -> None:
    store = SequenceStore(tmp_path / "sequence.json")
    for seq in (5, 3, 4000, 4200):
        assert store.window().refuse(seq) is None
        store.accept(seq)
    again = SequenceStore(tmp_path / "sequence.json").window()  # a restart
    assert again.high == 4200 and again.recent == {4000, 4200}  # 3 and 5 fell out of the window
    assert again.refuse(4000) and again.refuse(5) and again.refuse(3)
    assert again.refuse(4199) is None and again.refuse(4201) is None
