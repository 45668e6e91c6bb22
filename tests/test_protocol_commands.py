"""Volume and test-tone commands, dispatch, and the heartbeat: table-driven round trips and refusals."""

from __future__ import annotations

import base64
import json
from dataclasses import asdict
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from broadcast import protocol

VOLUME = protocol.VolumeCommand(id="v1", seq=3, issued_at=1.0, expires_at=100.0, zones=("thon-1",), level=75)
TONE = protocol.TestToneCommand(
    id="t1", seq=4, issued_at=1.0, expires_at=100.0, start_at=10.0, zones=("thon-1", "thon-2"),
    duration_s=3.0, frequency=440.0,
)  # fmt: skip
PLAY = protocol.PlayCommand(
    id="p1", seq=1, issued_at=1.0, expires_at=100.0, start_at=50.0, priority="normal", zones=("thon-1",),
    clip=protocol.ClipRef("http://station/clips/" + "a" * 64 + ".mp3", "a" * 64, 1000, 3.5),
)  # fmt: skip
HEARTBEAT = protocol.Heartbeat(
    device_id="loa-1", ts=1_750_000_000.5, uptime_s=3600.2, agent_uptime_s=120.0, cpu_temp_c=51.2,
    disk_free_bytes=2_000_000_000, cache_bytes=12_345_678, clock_offset_ms=-3.25, clock_source="ntp",
    ntp_synced=True, link=protocol.LinkInfo("wlan", -61.0), version="0.1.0", volume=80, now_playing="p1",
    settings={"heartbeat_interval_s": 60.0, "log_level": "DEBUG"},
)  # fmt: skip


def _keypair() -> tuple[bytes, str]:
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw, base64.b64encode(pub).decode()


@pytest.mark.parametrize("command", [VOLUME, TONE, PLAY], ids=["volume", "test_tone", "play"])
def test_signed_commands_round_trip_through_parse_command(command: protocol.Command) -> None:
    private, public = _keypair()
    wire = protocol.sign_body(command.to_body(), private)
    assert protocol.parse_command(protocol.verify_message(wire, public)) == command


def test_wire_shapes() -> None:
    assert VOLUME.to_body() == {
        "id": "v1", "seq": 3, "issued_at": 1.0, "expires_at": 100.0, "zones": ["thon-1"], "level": 75,
        "kind": "volume", "v": 1,
    }  # fmt: skip
    assert TONE.to_body() == {
        "id": "t1", "seq": 4, "issued_at": 1.0, "expires_at": 100.0, "start_at": 10.0,
        "zones": ["thon-1", "thon-2"], "duration_s": 3.0, "frequency": 440.0, "kind": "test_tone", "v": 1,
    }  # fmt: skip


# (case, parser, base command, changes, text the error must contain)
INVALID: list[tuple[str, Any, Any, dict[str, Any], str]] = [
    ("volume above 100", protocol.parse_volume_command, VOLUME, {"level": 101}, "0-100"),
    ("volume negative", protocol.parse_volume_command, VOLUME, {"level": -1}, "0-100"),
    ("volume float", protocol.parse_volume_command, VOLUME, {"level": 50.5}, "level"),
    ("volume bool", protocol.parse_volume_command, VOLUME, {"level": True}, "level"),
    ("volume string", protocol.parse_volume_command, VOLUME, {"level": "75"}, "level"),
    ("volume no zones", protocol.parse_volume_command, VOLUME, {"zones": []}, "zones"),
    ("volume wildcard zone", protocol.parse_volume_command, VOLUME, {"zones": ["#"]}, "zones"),
    ("volume as tone", protocol.parse_test_tone_command, VOLUME, {}, "unknown command kind"),
    ("volume v2", protocol.parse_volume_command, VOLUME, {"v": 2}, "version"),
    ("volume no expiry", protocol.parse_volume_command, VOLUME, {"expires_at": None}, "expires_at"),
    ("tone zero length", protocol.parse_test_tone_command, TONE, {"duration_s": 0}, "duration_s"),
    ("tone too long", protocol.parse_test_tone_command, TONE, {"duration_s": 61}, "duration_s"),
    ("tone infra", protocol.parse_test_tone_command, TONE, {"frequency": 10}, "frequency"),
    ("tone ultra", protocol.parse_test_tone_command, TONE, {"frequency": 30_000}, "frequency"),
    ("tone nan", protocol.parse_test_tone_command, TONE, {"frequency": float("nan")}, "frequency"),
    ("tone no start", protocol.parse_test_tone_command, TONE, {"start_at": None}, "start_at"),
    ("dispatch reboot", protocol.parse_command, VOLUME, {"kind": "reboot"}, "unknown command kind"),
    ("dispatch list kind", protocol.parse_command, VOLUME, {"kind": ["volume"]}, "unknown command kind"),
    ("dispatch v2", protocol.parse_command, TONE, {"v": 2}, "version"),
    ("dispatch to play checks", protocol.parse_command, PLAY, {"priority": "urgent"}, "priority"),
]


@pytest.mark.parametrize(
    ("case", "parser", "command", "changes", "reason"), INVALID, ids=[case[0] for case in INVALID]
)
def test_invalid_commands_are_refused(
    case: str, parser: Any, command: Any, changes: dict[str, Any], reason: str
) -> None:
    with pytest.raises(protocol.ProtocolError, match=reason):
        parser({**command.to_body(), **changes})


def test_heartbeat_round_trips_and_has_the_documented_shape() -> None:
    raw = protocol.encode_agent_message(HEARTBEAT)
    assert protocol.parse_agent_message(raw, "loa-1") == HEARTBEAT
    assert json.loads(raw) == {
        "type": "heartbeat", "device_id": "loa-1", "ts": 1_750_000_000.5, "uptime_s": 3600.2,
        "agent_uptime_s": 120.0, "cpu_temp_c": 51.2, "disk_free_bytes": 2_000_000_000,
        "cache_bytes": 12_345_678, "clock_offset_ms": -3.25, "clock_source": "ntp", "ntp_synced": True,
        "link": {"type": "wlan", "signal_dbm": -61.0}, "version": "0.1.0", "volume": 80, "now_playing": "p1",
        "settings": {"heartbeat_interval_s": 60.0, "log_level": "DEBUG"}, "clock_uncertainty_ms": None,
    }  # fmt: skip
    with pytest.raises(protocol.ProtocolError, match="does not match"):
        protocol.parse_agent_message(raw, "loa-2")


def test_minimal_heartbeat_from_a_bare_device_parses() -> None:
    body = {"type": "heartbeat", "device_id": "loa-1", "ts": 5, "uptime_s": 1, "disk_free_bytes": 0}
    body |= {"cache_bytes": 0}
    parsed = protocol.parse_agent_message(json.dumps(body).encode(), "loa-1")
    assert isinstance(parsed, protocol.Heartbeat)
    assert (parsed.cpu_temp_c, parsed.clock_offset_ms, parsed.clock_source, parsed.volume) == (
        None,
        None,
        "",
        None,
    )
    assert parsed.link == protocol.LinkInfo("none", None)


HEARTBEAT_INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("no ts", {"ts": None}, "ts"),
    ("negative disk", {"disk_free_bytes": -1}, "negative"),
    ("cache as float", {"cache_bytes": 1.5}, "cache_bytes"),
    ("temperature text", {"cpu_temp_c": "hot"}, "cpu_temp_c"),
    ("unknown link", {"link": {"type": "pigeon"}}, "link type"),
    ("link not object", {"link": "wlan"}, "link"),
    ("signal text", {"link": {"type": "wlan", "signal_dbm": "-60"}}, "signal_dbm"),
    ("volume 200", {"volume": 200}, "volume"),
    ("clock source gps", {"clock_source": "gps"}, "clock source"),
    ("ntp_synced string", {"ntp_synced": "yes"}, "ntp_synced"),
    ("now_playing number", {"now_playing": 5}, "now_playing"),
]


@pytest.mark.parametrize(
    ("case", "changes", "reason"), HEARTBEAT_INVALID, ids=[c[0] for c in HEARTBEAT_INVALID]
)
def test_invalid_heartbeats_are_refused(case: str, changes: dict[str, Any], reason: str) -> None:
    body = {**asdict(HEARTBEAT), **changes}
    with pytest.raises(protocol.ProtocolError, match=reason):
        protocol.parse_agent_message(json.dumps(body).encode(), "loa-1")


def test_unknown_agent_message_type_is_a_protocol_error_not_a_crash() -> None:
    raw = json.dumps({"type": "selfie", "device_id": "loa-1"}).encode()
    with pytest.raises(protocol.ProtocolError, match="unknown message type"):
        protocol.parse_agent_message(raw, "loa-1")
