"""Protocol primitives shared by every message module: version, limits, errors, field checks.

Standard library only: the edge agent imports this on a Raspberry Pi at start-up.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Literal, cast

PROTOCOL_VERSION = 1
TOPIC_ROOT = "loa/v1"
Priority = Literal["normal", "priority", "emergency"]
PRIORITIES: tuple[Priority, ...] = ("normal", "priority", "emergency")
MAX_MESSAGE_BYTES = 16 * 1024
# Every number a message carries (times, sizes, counters, ids) fits here: exact in a double and in a
# BIGINT. A larger one is absurd, and would overflow float() or a database column further on.
MAX_NUMBER = 2**53

_IDENTIFIER = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class ClipRef:
    """Where an agent fetches a clip and how it proves it got the right bytes."""

    url: str
    sha256: str
    size: int
    duration_s: float


class ProtocolError(ValueError):
    """A message that must be rejected; the text says why (logged, never crashes the receiver)."""


def is_identifier(value: str) -> bool:
    """Return True if value is a safe device / zone id (lowercase, digits, '-', '_'; no MQTT wildcards)."""
    return bool(_IDENTIFIER.fullmatch(value))


def as_priority(value: str) -> Priority:
    """Return value as one of the three bulletin levels, or raise ProtocolError."""
    for priority in PRIORITIES:
        if value == priority:
            return priority
    raise ProtocolError(f"unknown priority {value!r}")


def canonical_json(body: dict[str, Any]) -> bytes:
    """Return the byte string that is signed: sorted keys, no spaces, UTF-8."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def json_object(raw: bytes, max_bytes: int = MAX_MESSAGE_BYTES) -> dict[str, Any]:
    """Return raw decoded as a JSON object, or raise ProtocolError (size, encoding, shape)."""
    if len(raw) > max_bytes:
        raise ProtocolError(f"message too large ({len(raw)} bytes)")
    try:
        decoded = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ProtocolError(f"not UTF-8 JSON: {exc}") from exc
    except ValueError as exc:  # an integer of 4,300+ digits (Python's int max str digits)
        raise ProtocolError(f"number too long: {str(exc)[:80]}") from exc
    if not isinstance(decoded, dict):
        raise ProtocolError("message is not a JSON object")
    if b"\\u0000" in raw:  # no field needs NUL, and PostgreSQL cannot store it
        raise ProtocolError("NUL character in message")
    return cast(dict[str, Any], decoded)


def _field(body: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ProtocolError(f"field {name!r} missing or not {kind}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ProtocolError(f"field {name!r} is not finite")
    if isinstance(value, int | float) and not -MAX_NUMBER <= value <= MAX_NUMBER:
        raise ProtocolError(f"field {name!r} is out of range")
    return value


def _number(body: dict[str, Any], name: str) -> float:
    return float(_field(body, name, (int, float)))


def _optional_number(body: dict[str, Any], name: str) -> float | None:
    return None if body.get(name) is None else _number(body, name)


def _zones(body: dict[str, Any]) -> tuple[str, ...]:
    zones = _field(body, "zones", list)
    if not zones or not all(isinstance(z, str) and is_identifier(z) for z in zones):
        raise ProtocolError("zones must be a non-empty list of zone ids")
    return tuple(zones)


def _check_envelope(body: dict[str, Any], kind: str) -> None:
    """Refuse a body of another protocol version or command kind."""
    if body.get("v") != PROTOCOL_VERSION:
        raise ProtocolError(f"unsupported protocol version {body.get('v')!r}")
    if body.get("kind") != kind:
        raise ProtocolError(f"unknown command kind {body.get('kind')!r}")


def parse_clip(raw: dict[str, Any]) -> ClipRef:
    """Validate a clip reference (sha256, http(s) URL, positive size)."""
    sha = _field(raw, "sha256", str)
    if not _SHA256.fullmatch(sha):
        raise ProtocolError("clip sha256 is not 64 lowercase hex digits")
    url = _field(raw, "url", str)
    if not url.startswith(("http://", "https://")):
        raise ProtocolError("clip url must be http(s)")
    size = _field(raw, "size", int)
    if size <= 0:
        raise ProtocolError("clip size must be positive")
    return ClipRef(url=url, sha256=sha, size=size, duration_s=_number(raw, "duration_s"))
