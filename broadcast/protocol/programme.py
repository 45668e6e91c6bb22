"""The zone programme (the next hours of play/stream commands, pushed ahead) and stream-relay commands.

A programme is published retained on `loa/v1/zone/<zone>/programme`, signed as a whole, with a version
that only grows per zone. Each entry is itself a complete signed command (the same bytes the station keeps
in its outbox), so an agent checks entries exactly as commands that arrive alone, and de-duplicates them by
id: entry ids are stable per (slot, item, occurrence), so a re-planned programme repeats them unchanged.
Standard library only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from broadcast.protocol.base import (
    PROTOCOL_VERSION,
    TOPIC_ROOT,
    ClipRef,
    Priority,
    ProtocolError,
    _check_envelope,
    _field,
    _number,
    _zones,
    as_priority,
    is_identifier,
    parse_clip,
)

MAX_PROGRAMME_BYTES = 512 * 1024
MAX_STREAM_S = 4 * 3600.0  # the longest relay a commune runs (a full VOV programme block)
MAX_ENTRIES = 2000


def zone_programme_topic(zone: str) -> str:
    return f"{TOPIC_ROOT}/zone/{zone}/programme"


@dataclass(frozen=True)
class StreamCommand:
    """Relay a live audio stream (VOV, the provincial station) from `start_at` for `duration_s`."""

    id: str
    seq: int
    issued_at: float
    expires_at: float
    start_at: float
    priority: Priority
    zones: tuple[str, ...]
    url: str
    duration_s: float
    title: str = ""
    kind: Literal["stream"] = "stream"
    v: int = PROTOCOL_VERSION

    def to_body(self) -> dict[str, Any]:
        """Return the JSON-ready body (without signature)."""
        return {**asdict(self), "zones": list(self.zones)}


def parse_stream_command(body: dict[str, Any]) -> StreamCommand:
    """Validate a verified body and return the stream command it describes."""
    _check_envelope(body, "stream")
    url = _field(body, "url", str)
    if not url.startswith(("http://", "https://")) or len(url) > 2000:
        raise ProtocolError("stream url must be an http(s) URL")
    duration = _number(body, "duration_s")
    if not 0 < duration <= MAX_STREAM_S:
        raise ProtocolError(f"stream duration {duration} s is not within 0-{MAX_STREAM_S:.0f} s")
    return StreamCommand(
        id=_field(body, "id", str),
        seq=_field(body, "seq", int),
        issued_at=_number(body, "issued_at"),
        expires_at=_number(body, "expires_at"),
        start_at=_number(body, "start_at"),
        priority=as_priority(_field(body, "priority", str)),
        zones=_zones(body),
        url=url,
        duration_s=duration,
        title=str(body.get("title", ""))[:200],
    )


@dataclass(frozen=True)
class ProgrammeMessage:
    """Everything a zone plays between window_start and window_end, replacing any older version."""

    id: str
    seq: int
    issued_at: float
    expires_at: float
    zone: str
    version: int
    window_start: float
    window_end: float
    entries: tuple[str, ...]  # each a signed command, exactly as the station's outbox holds it
    # Clips to keep cached at all times (the alert siren and phrases): no fetch between a click and a siren.
    prefetch: tuple[ClipRef, ...] = ()
    kind: Literal["programme"] = "programme"
    v: int = PROTOCOL_VERSION

    def to_body(self) -> dict[str, Any]:
        """Return the JSON-ready body (without signature)."""
        body = {**asdict(self), "entries": list(self.entries), "prefetch": [asdict(c) for c in self.prefetch]}
        if not self.prefetch:
            del body["prefetch"]  # older agents and stored programmes stay byte-identical
        return body


def parse_programme(body: dict[str, Any]) -> ProgrammeMessage:
    """Validate a verified programme body (its entries are verified one by one by the receiver)."""
    _check_envelope(body, "programme")
    zone = _field(body, "zone", str)
    if not is_identifier(zone):
        raise ProtocolError("programme zone is not a zone id")
    version = _field(body, "version", int)
    if version < 0:
        raise ProtocolError("programme version must not be negative")
    entries = _field(body, "entries", list)
    if len(entries) > MAX_ENTRIES or not all(isinstance(e, str) for e in entries):
        raise ProtocolError("programme entries must be a list of signed commands (strings)")
    window_start, window_end = _number(body, "window_start"), _number(body, "window_end")
    if window_end < window_start:
        raise ProtocolError("programme window ends before it starts")
    return ProgrammeMessage(
        id=_field(body, "id", str),
        seq=_field(body, "seq", int),
        issued_at=_number(body, "issued_at"),
        expires_at=_number(body, "expires_at"),
        zone=zone,
        version=version,
        window_start=window_start,
        window_end=window_end,
        entries=tuple(entries),
        prefetch=tuple(parse_clip(c) for c in _prefetch(body)),
    )


def _prefetch(body: dict[str, Any]) -> list[dict[str, Any]]:
    raw = body.get("prefetch", [])
    if not isinstance(raw, list) or len(raw) > 50 or not all(isinstance(c, dict) for c in raw):
        raise ProtocolError("programme prefetch must be a short list of clip references")
    return raw
