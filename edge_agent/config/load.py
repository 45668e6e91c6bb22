"""Read agent.toml into an AgentConfig: every key checked, relative paths resolved against the file."""

from __future__ import annotations

import base64
import binascii
import ssl
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from broadcast import protocol
from edge_agent.config import model
from edge_agent.config.model import AgentConfig, ConfigError

_TOP_KEYS = {
    "device_id",
    "zones",
    "station_url",
    "station_public_key",
    "state_dir",
    "output",
    "cache_max_bytes",
    "ffmpeg",
    "alsa_device",
    "snapclient",
    "live_latency_ms",
    "heartbeat_interval_s",
    "mqtt",
    "relay",
    "mixer",
}
_MQTT_KEYS = {"host", "port", "username", "password", "tls", "ca_pem", "ca_file"}
_RELAY_KEYS = {"pin", "active_high", "pre_roll_s", "hold_s"}
_MIXER_KEYS = {"card", "control"}

_REQUIRED: Any = object()
_KIND_NAMES = {str: "a string", int: "an integer", bool: "true or false", list: "a list", float: "a number"}


def load_config(path: Path) -> AgentConfig:
    """Read agent.toml; relative state_dir and file: output paths resolve against its directory."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return _from_dict(data, path.resolve().parent)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _from_dict(data: dict[str, Any], base: Path) -> AgentConfig:
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(unknown)}")
    mqtt = _table(data, "mqtt", _MQTT_KEYS, required=True)
    relay = _table(data, "relay", _RELAY_KEYS)
    mixer = _table(data, "mixer", _MIXER_KEYS)

    device_id = _get(data, "device_id", str)
    if not protocol.is_identifier(device_id):
        raise ConfigError(f"device_id {device_id!r} is not a valid id (lowercase letters, digits, '-', '_')")
    zones = _get(data, "zones", list)
    if not zones or not all(isinstance(z, str) and protocol.is_identifier(z) for z in zones):
        raise ConfigError("zones must be a non-empty list of zone ids")
    username = _get(mqtt, "username", str, table="mqtt")
    # The broker's ACL grants topics by username and the agent subscribes by device id: they must agree.
    if username != device_id:
        raise ConfigError(f"mqtt.username {username!r} must equal device_id {device_id!r}")
    port = _get(mqtt, "port", int, table="mqtt")
    if not 0 < port < 65536:
        raise ConfigError(f"mqtt.port {port} is out of range")
    cache_max_bytes = _get(data, "cache_max_bytes", int, default=model.DEFAULT_CACHE_MAX_BYTES)
    if cache_max_bytes <= 0:
        raise ConfigError("cache_max_bytes must be positive")
    output = _get(data, "output", str, default=model.DEFAULT_OUTPUT)
    if output.startswith("file:") and output != "file:":
        output = "file:" + str(base / output.removeprefix("file:"))
    elif output != "alsa":
        raise ConfigError(f"output {output!r} must be 'file:DIR' or 'alsa'")
    state_dir = _get(data, "state_dir", str)
    if not state_dir:
        raise ConfigError("state_dir is empty")
    host = _get(mqtt, "host", str, table="mqtt")
    if not host:
        raise ConfigError("mqtt.host is empty")
    tls = _get(mqtt, "tls", bool, default=False, table="mqtt")
    return AgentConfig(
        device_id=device_id,
        zones=tuple(zones),
        station_url=_check_url(_get(data, "station_url", str)),
        station_public_key=_check_key(_get(data, "station_public_key", str)),
        mqtt_host=host,
        mqtt_port=port,
        mqtt_username=username,
        mqtt_password=_get(mqtt, "password", str, table="mqtt"),
        mqtt_tls=tls,
        mqtt_ca_pem=_ca_pem(mqtt, base, tls),
        state_dir=base / state_dir,
        output=output,
        cache_max_bytes=cache_max_bytes,
        ffmpeg=_get(data, "ffmpeg", str, default=""),
        alsa_device=_get(data, "alsa_device", str, default=""),
        snapclient=_get(data, "snapclient", str, default=""),
        live_latency_ms=_latency_ms(data),
        heartbeat_interval_s=_seconds(data, "heartbeat_interval_s", model.DEFAULT_HEARTBEAT_S, 1.0, 3600.0),
        relay_pin=_relay_pin(relay),
        relay_active_high=_get(relay, "active_high", bool, default=True, table="relay"),
        relay_pre_roll_s=_seconds(relay, "pre_roll_s", model.DEFAULT_PRE_ROLL_S, 0.0, 30.0, table="relay"),
        relay_hold_s=_seconds(relay, "hold_s", model.DEFAULT_HOLD_S, 0.0, 3600.0, table="relay"),
        mixer_card=_get(mixer, "card", str, default="", table="mixer"),
        mixer_control=_nonempty(mixer, "control", model.DEFAULT_MIXER_CONTROL, table="mixer"),
    )


def _ca_pem(mqtt: dict[str, Any], base: Path, tls: bool) -> str:
    """Return the pinned CA certificate(s): inline `ca_pem`, or `ca_file` (relative to agent.toml)."""
    if "ca_pem" in mqtt and "ca_file" in mqtt:
        raise ConfigError("set one of mqtt.ca_pem and mqtt.ca_file, not both")
    pem: str = _get(mqtt, "ca_pem", str, default="", table="mqtt")
    if "ca_file" in mqtt:
        path = base / _get(mqtt, "ca_file", str, table="mqtt")
        try:
            pem = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"mqtt.ca_file {path}: cannot read: {exc}") from exc
    if not pem:
        return ""
    if not tls:
        raise ConfigError("a CA certificate is pinned but mqtt.tls is false: the broker would go unchecked")
    try:
        ssl.create_default_context(cadata=pem)
    except (ssl.SSLError, ValueError) as exc:
        raise ConfigError(f"mqtt CA certificate is not valid PEM: {exc}") from exc
    return pem


def _table(data: dict[str, Any], name: str, keys: set[str], *, required: bool = False) -> dict[str, Any]:
    table = data.get(name)
    if table is None and not required:
        return {}
    if not isinstance(table, dict):
        raise ConfigError(f"missing [{name}] table" if table is None else f"{name} must be a [{name}] table")
    unknown = sorted(set(table) - keys)
    if unknown:
        raise ConfigError(f"unknown key(s) in [{name}]: {', '.join(unknown)}")
    return table


def _seconds(
    data: dict[str, Any], key: str, default: float, low: float, high: float, *, table: str = ""
) -> float:
    value = float(_get(data, key, (int, float), default=default, table=table))
    if not low <= value <= high:  # also refuses nan; inf is out of range
        raise ConfigError(f"{f'{table}.' if table else ''}{key} must be within {low:g}-{high:g} s")
    return value


def _latency_ms(data: dict[str, Any]) -> int:
    value = int(_get(data, "live_latency_ms", int, default=0))
    if not 0 <= value <= 2000:
        raise ConfigError("live_latency_ms must be within 0-2000 ms")
    return value


def _relay_pin(relay: dict[str, Any]) -> int | None:
    if "pin" not in relay:
        return None
    pin = _get(relay, "pin", int, table="relay")
    if not 0 <= pin <= 27:
        raise ConfigError(f"relay.pin {pin} is not a BCM GPIO number (0-27)")
    return int(pin)


def _nonempty(data: dict[str, Any], key: str, default: str, *, table: str) -> str:
    value = _get(data, key, str, default=default, table=table)
    if not value:
        raise ConfigError(f"{table}.{key} is empty")
    return str(value)


def _get(
    data: dict[str, Any],
    key: str,
    kind: type | tuple[type, ...],
    *,
    default: Any = _REQUIRED,
    table: str = "",
) -> Any:
    name = f"{table}.{key}" if table else key
    if key not in data:
        if default is _REQUIRED:
            raise ConfigError(f"missing {name}")
        return default
    value = data[key]
    # bool is an int subclass: `port = true` must not pass as port 1.
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        expected = _KIND_NAMES[float] if isinstance(kind, tuple) else _KIND_NAMES.get(kind, kind.__name__)
        raise ConfigError(f"{name} must be {expected}, not {type(value).__name__}")
    return value


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"station_url {url!r} must be an http(s) URL with a host")
    return url


def _check_key(key: str) -> str:
    try:
        raw = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ConfigError("station_public_key must be a base64 raw Ed25519 public key (32 bytes)")
    return key
