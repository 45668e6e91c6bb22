"""Signed control commands (station -> agent) besides play: speaker volume and a test tone."""

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
)

MIN_TONE_HZ = 20.0
MAX_TONE_HZ = 20_000.0
# Long enough to walk to the next pole and listen; short enough not to annoy a whole village.
MAX_TONE_S = 60.0


@dataclass(frozen=True)
class VolumeCommand:
    """Set the output volume (0-100 %, the ALSA mixer's perceptual scale) on the listed zones' agents."""

    id: str
    seq: int
    issued_at: float
    expires_at: float
    zones: tuple[str, ...]
    level: int
    kind: Literal["volume"] = "volume"
    v: int = PROTOCOL_VERSION

    def to_body(self) -> dict[str, Any]:
        """Return the JSON-ready body (without signature)."""
        return {**asdict(self), "zones": list(self.zones)}


@dataclass(frozen=True)
class TestToneCommand:
    """Play a generated sine at an absolute time, through the relay and the output, like a clip."""

    __test__ = False  # the name starts with "Test": keep pytest from collecting it

    id: str
    seq: int
    issued_at: float
    expires_at: float
    start_at: float
    zones: tuple[str, ...]
    duration_s: float = 5.0
    frequency: float = 1000.0
    kind: Literal["test_tone"] = "test_tone"
    v: int = PROTOCOL_VERSION

    def to_body(self) -> dict[str, Any]:
        """Return the JSON-ready body (without signature)."""
        return {**asdict(self), "zones": list(self.zones)}


def parse_volume_command(body: dict[str, Any]) -> VolumeCommand:
    """Validate a verified body and return the volume command it describes."""
    _check_envelope(body, "volume")
    level = _field(body, "level", int)
    if not 0 <= level <= 100:
        raise ProtocolError(f"volume level {level} is not within 0-100")
    return VolumeCommand(
        id=_field(body, "id", str),
        seq=_field(body, "seq", int),
        issued_at=_number(body, "issued_at"),
        expires_at=_number(body, "expires_at"),
        zones=_zones(body),
        level=level,
    )


def parse_test_tone_command(body: dict[str, Any]) -> TestToneCommand:
    """Validate a verified body and return the test-tone command it describes."""
    _check_envelope(body, "test_tone")
    duration_s = _number(body, "duration_s")
    if not 0 < duration_s <= MAX_TONE_S:
        raise ProtocolError(f"test tone duration_s {duration_s} is not within (0, {MAX_TONE_S:g}]")
    frequency = _number(body, "frequency")
    if not MIN_TONE_HZ <= frequency <= MAX_TONE_HZ:
        raise ProtocolError(f"test tone frequency {frequency} Hz is not within 20-20000 Hz")
    return TestToneCommand(
        id=_field(body, "id", str),
        seq=_field(body, "seq", int),
        issued_at=_number(body, "issued_at"),
        expires_at=_number(body, "expires_at"),
        start_at=_number(body, "start_at"),
        zones=_zones(body),
        duration_s=duration_s,
        frequency=frequency,
    )
