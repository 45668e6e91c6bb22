"""Agent -> station messages: status (and last will), proof of play, refusals; parsed from raw bytes."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal, cast

from broadcast.protocol.alerts import CommandReceived
from broadcast.protocol.base import (
    _SHA256,
    PRIORITIES,
    Priority,
    ProtocolError,
    _field,
    canonical_json,
    json_object,
)
from broadcast.protocol.health import Heartbeat, parse_heartbeat


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
