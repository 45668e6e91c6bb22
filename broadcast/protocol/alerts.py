"""Emergency alerts and their cancellation (station -> agent), signed like every command.

An alert plays at once, interrupting whatever plays: an optional preamble (siren or chime), then the
alert clip, `repeat` times with `interval_s` between; short alerts carry their MP3 inline so no fetch
stands between the click and the loudspeaker. Heard first: an alert whose speech is still being
synthesised goes out at once with `speech_follows` (the siren, already on every agent, plays meanwhile),
and its speech follows as an `alert_speech` command naming it. Standard library only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import asdict, dataclass
from typing import Any, Literal

from broadcast.protocol.base import (
    PROTOCOL_VERSION,
    ClipRef,
    ProtocolError,
    _check_envelope,
    _field,
    _number,
    _zones,
    parse_clip,
)

MAX_ALERT_BYTES = 256 * 1024
MAX_INLINE_AUDIO = 160 * 1024  # ~25 s of 48 kbit/s speech: most alerts ride inside the message
MAX_REPEAT = 10


@dataclass(frozen=True)
class AlertCommand:
    id: str
    seq: int
    issued_at: float
    expires_at: float
    zones: tuple[str, ...]
    alert_id: int
    clip: ClipRef
    repeat: int = 3
    interval_s: float = 10.0
    preamble: ClipRef | None = None
    audio_b64: str | None = None  # the clip's MP3 bytes inline (its sha256 is clip.sha256)
    title: str = ""
    # True: the speech comes in an alert_speech command; `clip` is then the siren, which is what an agent
    # that predates alert_speech plays as the message (so it still sounds the alarm).
    speech_follows: bool = False
    priority: Literal["emergency"] = "emergency"
    kind: Literal["alert"] = "alert"
    v: int = PROTOCOL_VERSION

    def to_body(self) -> dict[str, Any]:
        """Return the JSON-ready body (without signature); an alert with its speech reads as before."""
        body = {**asdict(self), "zones": list(self.zones)}
        return {k: v for k, v in body.items() if v is not None and not (k == "speech_follows" and not v)}

    def inline_audio(self) -> bytes | None:
        """Return the inline MP3 if present and matching clip.sha256 (else None: fetch it)."""
        return inline_bytes(self.audio_b64, self.clip.sha256)


@dataclass(frozen=True)
class AlertSpeechCommand:
    """The spoken part of an alert sent ahead with speech_follows: played after the siren, `repeat` times."""

    id: str
    seq: int
    issued_at: float
    expires_at: float
    zones: tuple[str, ...]
    target: str  # the id of the alert command this speech belongs to
    alert_id: int
    clip: ClipRef
    audio_b64: str | None = None
    kind: Literal["alert_speech"] = "alert_speech"
    v: int = PROTOCOL_VERSION

    def to_body(self) -> dict[str, Any]:
        """Return the JSON-ready body (without signature)."""
        body = {**asdict(self), "zones": list(self.zones)}
        return {k: v for k, v in body.items() if v is not None}

    def inline_audio(self) -> bytes | None:
        """Return the inline MP3 if present and matching clip.sha256 (else None: fetch it)."""
        return inline_bytes(self.audio_b64, self.clip.sha256)


def inline_bytes(audio_b64: str | None, sha256: str) -> bytes | None:
    """Return inline base64 audio decoded if it matches sha256 (else None: fetch the clip instead)."""
    if not audio_b64:
        return None
    data = base64.b64decode(audio_b64)
    return data if hashlib.sha256(data).hexdigest() == sha256 else None


@dataclass(frozen=True)
class CancelCommand:
    """Stop an alert everywhere now; optionally play a correction ("Thông báo huỷ cảnh báo")."""

    id: str
    seq: int
    issued_at: float
    expires_at: float
    zones: tuple[str, ...]
    target: str  # the id of the alert command to stop
    correction: ClipRef | None = None
    kind: Literal["cancel"] = "cancel"
    v: int = PROTOCOL_VERSION

    def to_body(self) -> dict[str, Any]:
        """Return the JSON-ready body (without signature)."""
        body = {**asdict(self), "zones": list(self.zones)}
        return {k: v for k, v in body.items() if v is not None}


def _optional_clip(body: dict[str, Any], name: str) -> ClipRef | None:
    raw = body.get(name)
    return None if raw is None else parse_clip(_field(body, name, dict))


def parse_alert_command(body: dict[str, Any]) -> AlertCommand:
    """Validate a verified alert body."""
    _check_envelope(body, "alert")
    repeat = _field(body, "repeat", int)
    if not 1 <= repeat <= MAX_REPEAT:
        raise ProtocolError(f"alert repeat {repeat} is not within 1-{MAX_REPEAT}")
    interval = _number(body, "interval_s")
    if not 0 <= interval <= 600:
        raise ProtocolError("alert interval must be within 0-600 s")
    follows = body.get("speech_follows", False)
    if not isinstance(follows, bool):
        raise ProtocolError("speech_follows must be true or false")
    return AlertCommand(
        id=_field(body, "id", str),
        seq=_field(body, "seq", int),
        issued_at=_number(body, "issued_at"),
        expires_at=_number(body, "expires_at"),
        zones=_zones(body),
        alert_id=_field(body, "alert_id", int),
        clip=parse_clip(_field(body, "clip", dict)),
        repeat=repeat,
        interval_s=interval,
        preamble=_optional_clip(body, "preamble"),
        audio_b64=_audio_field(body),
        title=str(body.get("title", ""))[:200],
        speech_follows=follows,
    )


def _audio_field(body: dict[str, Any]) -> str | None:
    audio = body.get("audio_b64")
    if audio is None:
        return None
    if not isinstance(audio, str) or len(audio) > MAX_INLINE_AUDIO * 4 // 3 + 4:
        raise ProtocolError("inline alert audio must be base64 text of at most 160 KiB")
    try:
        base64.b64decode(audio, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProtocolError("inline alert audio is not base64") from exc
    return audio


def parse_alert_speech_command(body: dict[str, Any]) -> AlertSpeechCommand:
    """Validate a verified alert_speech body."""
    _check_envelope(body, "alert_speech")
    target = _field(body, "target", str)
    if not 0 < len(target) <= 64:
        raise ProtocolError("alert_speech target must be a command id of 1-64 characters")
    return AlertSpeechCommand(
        id=_field(body, "id", str),
        seq=_field(body, "seq", int),
        issued_at=_number(body, "issued_at"),
        expires_at=_number(body, "expires_at"),
        zones=_zones(body),
        target=target,
        alert_id=_field(body, "alert_id", int),
        clip=parse_clip(_field(body, "clip", dict)),
        audio_b64=_audio_field(body),
    )


def parse_cancel_command(body: dict[str, Any]) -> CancelCommand:
    """Validate a verified cancel body."""
    _check_envelope(body, "cancel")
    return CancelCommand(
        id=_field(body, "id", str),
        seq=_field(body, "seq", int),
        issued_at=_number(body, "issued_at"),
        expires_at=_number(body, "expires_at"),
        zones=_zones(body),
        target=_field(body, "target", str),
        correction=_optional_clip(body, "correction"),
    )


@dataclass(frozen=True)
class CommandReceived:
    """Acknowledgement: the agent accepted a command (the station tracks "X / Y loa đã nhận")."""

    device_id: str
    command_id: str
    ts: float
    type: Literal["received"] = "received"
