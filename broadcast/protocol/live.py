"""Live broadcast commands (station -> agent): join a live session's stream, and leave it.

A live session carries a human voice (the office microphone, a phone) through the station's Snapcast
server. The station sends `live_start` to the session's zones when it begins and again every few seconds
while the officer is speaking: each one extends the agent's lease, and an agent that missed the start (it
reconnected, an alert held it) joins from the live point. An agent leaves on `live_stop`, when its lease
runs out (the station or the link is gone), or when the stream has been silent for `silence_s`: the
amplifier is never left on with nothing but hum. Standard library only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from broadcast.protocol.base import (
    PROTOCOL_VERSION,
    ProtocolError,
    _check_envelope,
    _field,
    _number,
    _zones,
    is_identifier,
)

MAX_LEASE_S = 120.0  # a lease longer than this outlives any station that died without a stop
MIN_SILENCE_S = 3.0
MAX_SILENCE_S = 600.0
_MAX_HOST = 253


@dataclass(frozen=True)
class LiveStartCommand:
    """Play session `session_id`'s stream from the Snapcast server at host:port until `lease_until`."""

    id: str
    seq: int
    issued_at: float
    expires_at: float
    zones: tuple[str, ...]
    session_id: str
    host: str
    port: int
    lease_until: float
    silence_s: float = 30.0
    title: str = ""
    kind: Literal["live_start"] = "live_start"
    v: int = PROTOCOL_VERSION

    def to_body(self) -> dict[str, Any]:
        """Return the JSON-ready body (without signature)."""
        return {**asdict(self), "zones": list(self.zones)}


@dataclass(frozen=True)
class LiveStopCommand:
    """Leave live session `session_id` now (the officer stopped, dropped, or an admin ended it)."""

    id: str
    seq: int
    issued_at: float
    expires_at: float
    zones: tuple[str, ...]
    session_id: str
    reason: str = ""
    kind: Literal["live_stop"] = "live_stop"
    v: int = PROTOCOL_VERSION

    def to_body(self) -> dict[str, Any]:
        """Return the JSON-ready body (without signature)."""
        return {**asdict(self), "zones": list(self.zones)}


def _session_id(body: dict[str, Any]) -> str:
    session_id: str = _field(body, "session_id", str)
    if not is_identifier(session_id):
        raise ProtocolError("session_id must be an identifier")
    return session_id


def _host(body: dict[str, Any]) -> str:
    host: str = _field(body, "host", str)
    # A host name or an IP literal, nothing that could smuggle options or a path into the player's argv.
    plain = all(c.isalnum() or c in ".-:[]" for c in host)
    if not host or len(host) > _MAX_HOST or host.startswith("-") or not plain:
        raise ProtocolError("live host must be a host name or an IP address")
    return host


def parse_live_start_command(body: dict[str, Any]) -> LiveStartCommand:
    """Validate a verified body and return the live-start command it describes."""
    _check_envelope(body, "live_start")
    port = _field(body, "port", int)
    if not 0 < port < 65536:
        raise ProtocolError(f"live port {port} is not a TCP port")
    issued_at = _number(body, "issued_at")
    lease_until = _number(body, "lease_until")
    if not issued_at < lease_until <= issued_at + MAX_LEASE_S:
        raise ProtocolError(f"live lease must end within {MAX_LEASE_S:.0f} s of issue")
    silence_s = _number(body, "silence_s") if "silence_s" in body else 30.0
    if not MIN_SILENCE_S <= silence_s <= MAX_SILENCE_S:
        raise ProtocolError(f"silence_s {silence_s} is not within {MIN_SILENCE_S:.0f}-{MAX_SILENCE_S:.0f} s")
    return LiveStartCommand(
        id=_field(body, "id", str),
        seq=_field(body, "seq", int),
        issued_at=issued_at,
        expires_at=_number(body, "expires_at"),
        zones=_zones(body),
        session_id=_session_id(body),
        host=_host(body),
        port=port,
        lease_until=lease_until,
        silence_s=silence_s,
        title=str(body.get("title", ""))[:200],
    )


def parse_live_stop_command(body: dict[str, Any]) -> LiveStopCommand:
    """Validate a verified body and return the live-stop command it describes."""
    _check_envelope(body, "live_stop")
    return LiveStopCommand(
        id=_field(body, "id", str),
        seq=_field(body, "seq", int),
        issued_at=_number(body, "issued_at"),
        expires_at=_number(body, "expires_at"),
        zones=_zones(body),
        session_id=_session_id(body),
        reason=str(body.get("reason", ""))[:200],
    )
