"""Commands (station -> agent): the play command, and one parser for a verified body of any kind."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, cast

from broadcast.protocol.alerts import (
    AlertCommand,
    AlertSpeechCommand,
    CancelCommand,
    parse_alert_command,
    parse_alert_speech_command,
    parse_cancel_command,
)
from broadcast.protocol.base import (
    PRIORITIES,
    PROTOCOL_VERSION,
    ClipRef,
    Priority,
    ProtocolError,
    _check_envelope,
    _field,
    _zones,
    parse_clip,
)
from broadcast.protocol.config import ConfigCommand, parse_config_command
from broadcast.protocol.control import (
    TestToneCommand,
    VolumeCommand,
    parse_test_tone_command,
    parse_volume_command,
)
from broadcast.protocol.live import (
    LiveStartCommand,
    LiveStopCommand,
    parse_live_start_command,
    parse_live_stop_command,
)
from broadcast.protocol.programme import StreamCommand, parse_stream_command


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
    | LiveStartCommand
    | LiveStopCommand
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
    "live_start": parse_live_start_command,
    "live_stop": parse_live_stop_command,
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
