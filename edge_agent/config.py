"""The agent's configuration: the AgentConfig model, agent.toml loading and writing."""

from __future__ import annotations

import base64
import binascii
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from broadcast import protocol

DEFAULT_OUTPUT = "file:./plays"
DEFAULT_CACHE_MAX_BYTES = 500 * 1024 * 1024

_TOP_KEYS = {
    "device_id",
    "zones",
    "station_url",
    "station_public_key",
    "state_dir",
    "output",
    "cache_max_bytes",
    "ffmpeg",
    "mqtt",
}
_MQTT_KEYS = {"host", "port", "username", "password", "tls"}


_REQUIRED: Any = object()
_KIND_NAMES = {str: "a string", int: "an integer", bool: "true or false", list: "a list"}


class ConfigError(ValueError):
    """agent.toml is missing, unreadable or invalid; the text names the file and the field."""


@dataclass(frozen=True)
class AgentConfig:
    """Everything one edge agent needs to know: who it is, whom it trusts, where it connects."""

    device_id: str
    zones: tuple[str, ...]
    station_url: str
    station_public_key: str
    mqtt_host: str
    mqtt_port: int
    mqtt_username: str
    mqtt_password: str
    state_dir: Path
    mqtt_tls: bool = False
    output: str = DEFAULT_OUTPUT
    cache_max_bytes: int = DEFAULT_CACHE_MAX_BYTES
    ffmpeg: str = ""


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
    mqtt = data.get("mqtt")
    if not isinstance(mqtt, dict):
        raise ConfigError("missing [mqtt] table")
    unknown = sorted(set(mqtt) - _MQTT_KEYS)
    if unknown:
        raise ConfigError(f"unknown key(s) in [mqtt]: {', '.join(unknown)}")

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
    cache_max_bytes = _get(data, "cache_max_bytes", int, default=DEFAULT_CACHE_MAX_BYTES)
    if cache_max_bytes <= 0:
        raise ConfigError("cache_max_bytes must be positive")
    output = _get(data, "output", str, default=DEFAULT_OUTPUT)
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
    return AgentConfig(
        device_id=device_id,
        zones=tuple(zones),
        station_url=_check_url(_get(data, "station_url", str)),
        station_public_key=_check_key(_get(data, "station_public_key", str)),
        mqtt_host=host,
        mqtt_port=port,
        mqtt_username=username,
        mqtt_password=_get(mqtt, "password", str, table="mqtt"),
        mqtt_tls=_get(mqtt, "tls", bool, default=False, table="mqtt"),
        state_dir=base / state_dir,
        output=output,
        cache_max_bytes=cache_max_bytes,
        ffmpeg=_get(data, "ffmpeg", str, default=""),
    )


def _get(data: dict[str, Any], key: str, kind: type, *, default: Any = _REQUIRED, table: str = "") -> Any:
    name = f"{table}.{key}" if table else key
    if key not in data:
        if default is _REQUIRED:
            raise ConfigError(f"missing {name}")
        return default
    value = data[key]
    # bool is an int subclass: `port = true` must not pass as port 1.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(
            f"{name} must be {_KIND_NAMES.get(kind, kind.__name__)}, not {type(value).__name__}"
        )
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


def dump_config(config: AgentConfig) -> str:
    """Return agent.toml text that load_config reads back to an equal AgentConfig (absolute paths)."""
    top = [
        ("device_id", _toml_string(config.device_id)),
        ("zones", "[" + ", ".join(_toml_string(z) for z in config.zones) + "]"),
        ("station_url", _toml_string(config.station_url)),
        ("station_public_key", _toml_string(config.station_public_key)),
        ("state_dir", _toml_string(str(config.state_dir))),
        ("output", _toml_string(config.output)),
        ("cache_max_bytes", str(config.cache_max_bytes)),
        ("ffmpeg", _toml_string(config.ffmpeg)),
    ]
    mqtt = [
        ("host", _toml_string(config.mqtt_host)),
        ("port", str(config.mqtt_port)),
        ("username", _toml_string(config.mqtt_username)),
        ("password", _toml_string(config.mqtt_password)),
        ("tls", "true" if config.mqtt_tls else "false"),
    ]
    lines = [f"{key} = {value}" for key, value in top] + ["", "[mqtt]"]
    lines += [f"{key} = {value}" for key, value in mqtt]
    return "\n".join(lines) + "\n"


_TOML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _toml_string(value: str) -> str:
    """Return value as a TOML basic string (quotes, backslashes and control characters escaped)."""
    out = []
    for char in value:
        if char in _TOML_ESCAPES:
            out.append(_TOML_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'
