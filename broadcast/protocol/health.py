"""The agent's health heartbeat (agent -> station): what a technician would check at the pole."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, cast

from broadcast.protocol.base import ProtocolError, _field, _number, _optional_number
from broadcast.protocol.config import SettingValue, check_setting

LinkType = Literal["eth", "wlan", "wwan", "other", "none"]
LINK_TYPES: tuple[LinkType, ...] = ("eth", "wlan", "wwan", "other", "none")
ClockSource = Literal["ntp", "http", ""]
_CLOCK_SOURCES = ("ntp", "http", "")


@dataclass(frozen=True)
class LinkInfo:
    """The uplink: kind of the default route's interface and, for Wi-Fi, its signal level."""

    type: LinkType = "none"
    signal_dbm: float | None = None


@dataclass(frozen=True)
class Heartbeat:
    """Periodic health report on the device's event topic (QoS 0: a stale one is worth nothing).

    clock_offset_ms is local clock minus reference clock (positive: the Pi is ahead); clock_source says
    whether it came from the NTP daemon (sub-millisecond) or the station over HTTP: its /time (uncertain by
    half a round trip) or, failing that, the HTTP Date (about ±1 s). clock_uncertainty_ms bounds an HTTP
    estimate (None: an NTP reading, or an agent older than the field).
    """

    device_id: str
    ts: float
    uptime_s: float
    agent_uptime_s: float
    cpu_temp_c: float | None
    disk_free_bytes: int
    cache_bytes: int
    clock_offset_ms: float | None
    clock_source: ClockSource
    ntp_synced: bool | None
    link: LinkInfo = field(default_factory=LinkInfo)
    version: str = ""
    volume: int | None = None
    now_playing: str | None = None
    # The settings the station set by config command and the agent applies ({}: none); None: an agent
    # older than config commands.
    settings: dict[str, SettingValue] | None = None
    clock_uncertainty_ms: float | None = None
    type: Literal["heartbeat"] = "heartbeat"


def parse_heartbeat(body: dict[str, Any], device_id: str) -> Heartbeat:
    """Validate a heartbeat body (device id already checked against the topic)."""
    link_raw = body.get("link") or {}
    if not isinstance(link_raw, dict):
        raise ProtocolError("link must be an object")
    link_type = link_raw.get("type", "none")
    if link_type not in LINK_TYPES:
        raise ProtocolError(f"unknown link type {link_type!r}")
    clock_source = body.get("clock_source") or ""
    if clock_source not in _CLOCK_SOURCES:
        raise ProtocolError(f"unknown clock source {clock_source!r}")
    ntp_synced = body.get("ntp_synced")
    if ntp_synced is not None and not isinstance(ntp_synced, bool):
        raise ProtocolError("ntp_synced must be true, false or null")
    volume = body.get("volume")
    if volume is not None:
        volume = _field(body, "volume", int)
        if not 0 <= volume <= 100:
            raise ProtocolError(f"volume {volume} is not within 0-100")
    now_playing = body.get("now_playing")
    if now_playing is not None:
        now_playing = str(_field(body, "now_playing", str))[:128]
    return Heartbeat(
        device_id=device_id,
        ts=_number(body, "ts"),
        uptime_s=_number(body, "uptime_s"),
        agent_uptime_s=_number(body, "agent_uptime_s") if "agent_uptime_s" in body else 0.0,
        cpu_temp_c=_optional_number(body, "cpu_temp_c"),
        disk_free_bytes=_non_negative(body, "disk_free_bytes"),
        cache_bytes=_non_negative(body, "cache_bytes"),
        clock_offset_ms=_optional_number(body, "clock_offset_ms"),
        clock_source=cast(ClockSource, clock_source),
        ntp_synced=ntp_synced,
        link=LinkInfo(cast(LinkType, link_type), _optional_number(link_raw, "signal_dbm")),
        version=str(body.get("version", ""))[:64],
        volume=volume,
        now_playing=now_playing,
        settings=_settings(body.get("settings")),
        clock_uncertainty_ms=_optional_number(body, "clock_uncertainty_ms"),
    )


def _non_negative(body: dict[str, Any], name: str) -> int:
    value = _field(body, name, int)
    if value < 0:
        raise ProtocolError(f"field {name!r} is negative")
    return int(value)


def _settings(raw: object) -> dict[str, SettingValue] | None:
    """Return the reported settings, leaving out entries this station does not know or accept: a newer
    agent's extra setting must not cost the whole heartbeat (the device would look offline)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ProtocolError("settings must be an object")
    kept: dict[str, SettingValue] = {}
    for name, value in raw.items():
        try:
            kept[str(name)] = check_setting(str(name), value)
        except ProtocolError:
            continue
    return kept
