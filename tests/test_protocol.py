"""Protocol: topics, canonical signing, and rejection of malformed or forged messages."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from broadcast import protocol


def _keypair() -> tuple[bytes, str]:
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw, base64.b64encode(pub).decode()


COMMAND = protocol.PlayCommand(
    id="c1",
    seq=1,
    issued_at=1.0,
    expires_at=100.0,
    start_at=50.0,
    priority="normal",
    zones=("thon-1",),
    clip=protocol.ClipRef("http://station/clips/" + "a" * 64 + ".mp3", "a" * 64, 1000, 3.5),
    title="Họp dân",
    bulletin_id=7,
)


def test_signed_command_round_trips() -> None:
    private, public = _keypair()
    wire = protocol.sign_body(COMMAND.to_body(), private)
    assert protocol.parse_play_command(protocol.verify_message(wire, public)) == COMMAND


def test_signature_covers_every_field() -> None:
    private, public = _keypair()
    body = json.loads(protocol.sign_body(COMMAND.to_body(), private))
    body["zones"] = ["thon-2"]
    with pytest.raises(protocol.ProtocolError, match="bad signature"):
        protocol.verify_message(json.dumps(body).encode(), public)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe", "not UTF-8"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"v": 1}', "unsigned"),
        (b'{"v": 1, "sig": "!!"}', "bad signature"),
        (b"x" * (protocol.MAX_MESSAGE_BYTES + 1), "too large"),
    ],
)
def test_malformed_messages_are_rejected(raw: bytes, reason: str) -> None:
    with pytest.raises(protocol.ProtocolError, match=reason):
        protocol.verify_message(raw, _keypair()[1])


def test_message_signed_by_another_key_is_rejected() -> None:
    private, _ = _keypair()
    _, other_public = _keypair()
    with pytest.raises(protocol.ProtocolError, match="bad signature"):
        protocol.verify_message(protocol.sign_body(COMMAND.to_body(), private), other_public)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"kind": "reboot"}, "unknown command kind"),
        ({"v": 2}, "unsupported protocol version"),
        ({"priority": "urgent"}, "unknown priority"),
        ({"zones": []}, "zones"),
        ({"zones": ["thon/#"]}, "zones"),
        ({"start_at": "soon"}, "start_at"),
        ({"start_at": True}, "start_at"),
        ({"clip": {"url": "ftp://x", "sha256": "a" * 64, "size": 1, "duration_s": 1}}, "http"),
        ({"clip": {"url": "http://x", "sha256": "A" * 64, "size": 1, "duration_s": 1}}, "sha256"),
        ({"clip": {"url": "http://x", "sha256": "a" * 64, "size": 0, "duration_s": 1}}, "size"),
    ],
)
def test_invalid_command_fields(change: dict[str, object], reason: str) -> None:
    with pytest.raises(protocol.ProtocolError, match=reason):
        protocol.parse_play_command({**COMMAND.to_body(), **change})


def test_topics_and_device_ids() -> None:
    assert protocol.device_id_from_topic(protocol.device_status_topic("loa-1")) == "loa-1"
    assert protocol.device_id_from_topic(protocol.device_event_topic("loa-1")) == "loa-1"
    for bad in ("loa/v1/dev/loa-1", "x/v1/dev/a/status", "loa/v1/zone/a/cmd", "loa/v1/dev/A B/status"):
        with pytest.raises(protocol.ProtocolError):
            protocol.device_id_from_topic(bad)
    assert protocol.is_identifier("thon-1")
    assert not protocol.is_identifier("Thôn 1")
    assert not protocol.is_identifier("+")


def test_agent_messages_must_match_their_topic() -> None:
    report = protocol.PlayReport("loa-1", "c1", "a" * 64, 10.0, 3.0, "normal")
    raw = protocol.encode_agent_message(report)
    assert protocol.parse_agent_message(raw, "loa-1") == report
    with pytest.raises(protocol.ProtocolError, match="does not match"):
        protocol.parse_agent_message(raw, "loa-2")
    status = protocol.DeviceStatus("loa-1", "online", "thon-1", "0.1", 5.0)
    assert protocol.parse_agent_message(protocol.encode_agent_message(status), "loa-1") == status
