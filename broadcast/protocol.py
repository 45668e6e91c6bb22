"""Messages between station and edge agents: topics, models, canonical JSON and Ed25519 signatures.

Shared by the server and the agent, so it imports only the standard library at module level
(``cryptography`` is imported inside the sign/verify functions).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, cast

from broadcast.protocol_alerts import (
    MAX_ALERT_BYTES,
    AlertCommand,
    AlertSpeechCommand,
    CancelCommand,
    CommandReceived,
    parse_alert_command,
    parse_alert_speech_command,
    parse_cancel_command,
)
from broadcast.protocol_base import (
    _SHA256,
    MAX_MESSAGE_BYTES,
    PRIORITIES,
    PROTOCOL_VERSION,
    TOPIC_ROOT,
    ClipRef,
    Priority,
    ProtocolError,
    _check_envelope,
    _field,
    _zones,
    as_priority,
    canonical_json,
    is_identifier,
    json_object,
    parse_clip,
)
from broadcast.protocol_commands import (
    TestToneCommand,
    VolumeCommand,
    parse_test_tone_command,
    parse_volume_command,
)
from broadcast.protocol_config import ConfigCommand, parse_config_command
from broadcast.protocol_health import ClockSource, Heartbeat, LinkInfo, LinkType, parse_heartbeat
from broadcast.protocol_keys import (
    KEYS_TOPIC,
    KeyUpdate,
    TrustedKey,
    UnknownKeyError,
    key_id,
    parse_key_update,
    public_key_of,
    sign_body,
    verify_message,
)
from broadcast.protocol_programme import (
    MAX_PROGRAMME_BYTES,
    ProgrammeMessage,
    StreamCommand,
    parse_programme,
    parse_stream_command,
    zone_programme_topic,
)

__all__ = [
    "EVENT_SUBSCRIPTION", "KEYS_TOPIC", "MAX_ALERT_BYTES", "MAX_MESSAGE_BYTES", "MAX_PROGRAMME_BYTES",
    "PRIORITIES", "PROTOCOL_VERSION", "STATUS_SUBSCRIPTION", "TOPIC_ROOT", "AgentMessage", "AlertCommand",
    "AlertSpeechCommand", "CancelCommand", "ClipRef", "ClockSource", "Command", "CommandReceived",
    "CommandRejected", "ConfigCommand", "DeviceStatus", "Heartbeat", "KeyUpdate", "LinkInfo", "LinkType",
    "PlayCommand", "PlayReport", "Priority", "ProgrammeMessage", "ProtocolError", "StreamCommand",
    "TestToneCommand",
    "TrustedKey", "UnknownKeyError", "VolumeCommand", "as_priority", "canonical_json", "device_command_topic",
    "device_event_topic", "device_id_from_topic", "device_status_topic", "encode_agent_message",
    "is_identifier", "key_id", "parse_agent_message", "parse_alert_command", "parse_alert_speech_command",
    "parse_cancel_command",
    "parse_command", "parse_config_command", "parse_key_update", "parse_play_command", "parse_programme",
    "parse_stream_command", "parse_test_tone_command", "parse_volume_command", "public_key_of", "sign_body",
    "verify_message", "zone_command_topic", "zone_programme_topic",
]  # fmt: skip


# --- topics -----------------------------------------------------------------------------------------


def device_command_topic(device_id: str) -> str:
    return f"{TOPIC_ROOT}/dev/{device_id}/cmd"


def zone_command_topic(zone: str) -> str:
    return f"{TOPIC_ROOT}/zone/{zone}/cmd"


def device_status_topic(device_id: str) -> str:
    return f"{TOPIC_ROOT}/dev/{device_id}/status"


def device_event_topic(device_id: str) -> str:
    return f"{TOPIC_ROOT}/dev/{device_id}/event"


STATUS_SUBSCRIPTION = f"{TOPIC_ROOT}/dev/+/status"
EVENT_SUBSCRIPTION = f"{TOPIC_ROOT}/dev/+/event"


def device_id_from_topic(topic: str) -> str:
    """Return the device id of a loa/v1/dev/<id>/... topic."""
    parts = topic.split("/")
    if len(parts) != 5 or "/".join(parts[:2]) != TOPIC_ROOT or parts[2] != "dev":
        raise ProtocolError(f"not a device topic: {topic!r}")
    if not is_identifier(parts[3]):
        raise ProtocolError(f"bad device id in topic: {topic!r}")
    return parts[3]


# --- commands (station -> agent) ----------------------------------------------------------------------


@dataclass(frozen=True)
class PlayCommand:
    """Play one clip at an absolute time on every agent of the listed zones."""

    id: str
    seq: int
    issued_at: float
    expires_at: float
    start_at: float
    priority: Priority
    zones: tuple[str, ...]
    clip: ClipRef
    title: str = ""
    bulletin_id: int | None = None
    kind: Literal["play"] = "play"
    v: int = PROTOCOL_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    def to_body(self) -> dict[str, Any]:
        """Return the JSON-ready body (without signature)."""
        body = asdict(self)
        body["zones"] = list(self.zones)
        return body


def parse_play_command(body: dict[str, Any]) -> PlayCommand:
    """Validate a verified body and return the command it describes."""
    _check_envelope(body, "play")
    clip = parse_clip(_field(body, "clip", dict))
    priority = _field(body, "priority", str)
    if priority not in PRIORITIES:
        raise ProtocolError(f"unknown priority {priority!r}")
    bulletin_id = body.get("bulletin_id")
    if bulletin_id is not None and (isinstance(bulletin_id, bool) or not isinstance(bulletin_id, int)):
        raise ProtocolError("bulletin_id must be an integer")
    if bulletin_id is not None:
        bulletin_id = _field(body, "bulletin_id", int)  # bounded like every number
    extra = body.get("extra") or {}
    if not isinstance(extra, dict):
        raise ProtocolError("extra must be an object")
    return PlayCommand(
        id=_field(body, "id", str),
        seq=_field(body, "seq", int),
        issued_at=float(_field(body, "issued_at", (int, float))),
        expires_at=float(_field(body, "expires_at", (int, float))),
        start_at=float(_field(body, "start_at", (int, float))),
        priority=cast(Priority, priority),
        zones=_zones(body),
        clip=clip,
        title=str(body.get("title", "")),
        bulletin_id=bulletin_id,
        extra=cast(dict[str, Any], extra),
    )


Command = (
    PlayCommand
    | VolumeCommand
    | TestToneCommand
    | StreamCommand
    | AlertCommand
    | AlertSpeechCommand
    | CancelCommand
    | ConfigCommand
)
_PARSERS: dict[str, Callable[[dict[str, Any]], Command]] = {
    "play": parse_play_command,
    "alert": parse_alert_command,
    "alert_speech": parse_alert_speech_command,
    "cancel": parse_cancel_command,
    "stream": parse_stream_command,
    "volume": parse_volume_command,
    "test_tone": parse_test_tone_command,
    "config": parse_config_command,
}


def parse_command(body: dict[str, Any]) -> Command:
    """Validate a verified body of any command kind and return the command it describes."""
    if body.get("v") != PROTOCOL_VERSION:
        raise ProtocolError(f"unsupported protocol version {body.get('v')!r}")
    kind = body.get("kind")
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        raise ProtocolError(f"unknown command kind {kind!r}")
    return parser(body)


# --- agent -> station ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceStatus:
    """Retained on the device's status topic; the broker publishes state=offline as the last will.

    `will` is True on the last will (its ts is when the agent set it, not when the link died), False on a
    status the agent sent itself, None from agents older than the flag (their offline counts as a will).
    """

    device_id: str
    state: Literal["online", "offline"]
    zone: str = ""
    version: str = ""
    ts: float = 0.0
    will: bool | None = None
    type: Literal["status"] = "status"


@dataclass(frozen=True)
class PlayReport:
    """Proof of play: the agent started playing a clip."""

    device_id: str
    command_id: str
    clip_sha256: str
    started_at: float
    duration_s: float
    priority: Priority
    type: Literal["play"] = "play"


@dataclass(frozen=True)
class CommandRejected:
    """The agent refused or could not carry out a command (bad clip, expired, ...)."""

    device_id: str
    command_id: str
    reason: str
    type: Literal["rejected"] = "rejected"


AgentMessage = DeviceStatus | PlayReport | CommandRejected | Heartbeat | CommandReceived


def encode_agent_message(message: AgentMessage) -> bytes:
    return canonical_json(asdict(message))


def _command_id(body: dict[str, Any]) -> str:
    """Return a reported command id: the station's ids are 36-character UUIDs, stored in 64 characters."""
    value = str(_field(body, "command_id", str))
    if len(value) > 64:
        raise ProtocolError("command_id longer than 64 characters")
    return value


def _epoch(body: dict[str, Any], name: str) -> float:
    """Return a unix time the station can store as a date (year 1970 to 5138)."""
    value = float(_field(body, name, (int, float)))
    if not 0 <= value < 1e11:
        raise ProtocolError(f"field {name!r} is not a plausible unix time")
    return value


def _will_flag(body: dict[str, Any]) -> bool | None:
    value = body.get("will")
    if value is not None and not isinstance(value, bool):
        raise ProtocolError("will must be true, false or null")
    return value


def parse_agent_message(raw: bytes, topic_device_id: str) -> AgentMessage:
    """Parse a status/event message; the device id must match the topic it came on (ACL-enforced)."""
    body = json_object(raw)
    if body.get("device_id") != topic_device_id:
        raise ProtocolError("device_id does not match topic")
    kind = body.get("type")
    if kind == "status":
        state = body.get("state")
        if state not in ("online", "offline"):
            raise ProtocolError(f"bad state {state!r}")
        return DeviceStatus(
            device_id=topic_device_id,
            state=cast(Literal["online", "offline"], state),
            zone=str(body.get("zone", "")),
            version=str(body.get("version", "")),
            ts=float(_field(body, "ts", (int, float))) if "ts" in body else 0.0,
            will=_will_flag(body),
        )
    if kind == "play":
        priority = _field(body, "priority", str)
        if priority not in PRIORITIES:
            raise ProtocolError(f"unknown priority {priority!r}")
        sha = _field(body, "clip_sha256", str)
        if not _SHA256.fullmatch(sha):
            raise ProtocolError("bad clip_sha256")
        return PlayReport(
            device_id=topic_device_id,
            command_id=_command_id(body),
            clip_sha256=sha,
            started_at=_epoch(body, "started_at"),
            duration_s=float(_field(body, "duration_s", (int, float))),
            priority=cast(Priority, priority),
        )
    if kind == "rejected":
        return CommandRejected(
            device_id=topic_device_id,
            command_id=_command_id(body),
            reason=str(_field(body, "reason", str))[:500],
        )
    if kind == "heartbeat":
        return parse_heartbeat(body, topic_device_id)
    if kind == "received":
        return CommandReceived(
            device_id=topic_device_id,
            command_id=_command_id(body),
            ts=_epoch(body, "ts"),
        )
    raise ProtocolError(f"unknown message type {kind!r}")
