"""The signed config command (station -> agent) and the whitelist of agent settings it may change.

Only settings that cannot break trust or reachability are here: never the pinned keys, the broker, the
station URL, zones or the device's identity. A bad value there would cut the device off for good, and
whoever could send it would own the speaker. Standard library only (the agent imports it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from broadcast.protocol.base import (
    PROTOCOL_VERSION,
    ProtocolError,
    _check_envelope,
    _field,
    _number,
    _zones,
)

SettingValue = float | int | str
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class SettingSpec:
    """One remotely changeable agent setting: its type and its allowed range (or choices)."""

    name: str
    kind: type[float] | type[int] | type[str]
    low: float = 0.0
    high: float = 0.0
    choices: tuple[str, ...] = ()


SPECS: dict[str, SettingSpec] = {
    spec.name: spec
    for spec in (
        # Below 10 s the station drowns in heartbeats; above 300 s a dead device goes unnoticed too long.
        SettingSpec("heartbeat_interval_s", float, 10.0, 300.0),
        SettingSpec("relay_pre_roll_s", float, 0.0, 30.0),  # the same bounds agent.toml accepts
        SettingSpec("relay_hold_s", float, 0.0, 3600.0),
        # The level set at start-up while the station has never sent a volume command.
        SettingSpec("default_volume", int, 0.0, 100.0),
        # |clock offset| past this is logged as a warning (two speakers 50 ms apart already echo).
        SettingSpec("ntp_warn_ms", float, 1.0, 10_000.0),
        SettingSpec("log_level", str, choices=LOG_LEVELS),
    )
}


def check_setting(name: str, value: object) -> SettingValue:
    """Return value normalised for setting `name` (floats as float), or raise ProtocolError."""
    spec = SPECS.get(name)
    if spec is None:
        raise ProtocolError(f"unknown setting {name!r}")
    if spec.kind is str:
        if not isinstance(value, str) or value not in spec.choices:
            raise ProtocolError(f"setting {name!r} must be one of {', '.join(spec.choices)}")
        return value
    # bool is an int subclass: `true` must not pass as 1.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProtocolError(f"setting {name!r} must be a number")
    if spec.kind is int and not (isinstance(value, int) or float(value).is_integer()):
        raise ProtocolError(f"setting {name!r} must be a whole number")
    number = float(value)
    if not math.isfinite(number) or not spec.low <= number <= spec.high:
        raise ProtocolError(f"setting {name!r} = {value!r} is not within {spec.low:g}-{spec.high:g}")
    return int(number) if spec.kind is int else number


def check_settings(raw: object) -> dict[str, SettingValue]:
    """Return a whole settings object normalised, or raise ProtocolError on any unknown or bad entry."""
    if not isinstance(raw, Mapping):
        raise ProtocolError("settings must be an object")
    return {str(name): check_setting(str(name), value) for name, value in raw.items()}


@dataclass(frozen=True)
class ConfigCommand:
    """Replace the agent's remotely set settings with `settings` (absent ones revert to agent.toml).

    The whole set every time, not a change: applying it twice, or an older one then the latest, ends in
    the same state, and the station can re-send it whenever the device reports something else.
    """

    id: str
    seq: int
    issued_at: float
    expires_at: float
    zones: tuple[str, ...]
    settings: dict[str, SettingValue] = field(default_factory=dict)
    kind: Literal["config"] = "config"
    v: int = PROTOCOL_VERSION

    def to_body(self) -> dict[str, Any]:
        """Return the JSON-ready body (without signature)."""
        return {**asdict(self), "zones": list(self.zones), "settings": dict(self.settings)}


def parse_config_command(body: dict[str, Any]) -> ConfigCommand:
    """Validate a verified body and return the config command it describes (every setting checked)."""
    _check_envelope(body, "config")
    return ConfigCommand(
        id=_field(body, "id", str),
        seq=_field(body, "seq", int),
        issued_at=_number(body, "issued_at"),
        expires_at=_number(body, "expires_at"),
        zones=_zones(body),
        settings=check_settings(body.get("settings")),
    )
