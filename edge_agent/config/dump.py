"""Write agent.toml: dump_config is the exact inverse of load_config."""

from __future__ import annotations

from edge_agent.config.model import AgentConfig


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
        ("alsa_device", _toml_string(config.alsa_device)),
        ("snapclient", _toml_string(config.snapclient)),
        ("live_latency_ms", str(config.live_latency_ms)),
        ("heartbeat_interval_s", repr(config.heartbeat_interval_s)),
    ]
    mqtt = [
        ("host", _toml_string(config.mqtt_host)),
        ("port", str(config.mqtt_port)),
        ("username", _toml_string(config.mqtt_username)),
        ("password", _toml_string(config.mqtt_password)),
        ("tls", "true" if config.mqtt_tls else "false"),
    ]
    if config.mqtt_ca_pem:
        mqtt.append(("ca_pem", _toml_multiline(config.mqtt_ca_pem)))
    relay = [
        # TOML has no null: an absent pin means no relay; the comment shows where to set it.
        ("pin", str(config.relay_pin)) if config.relay_pin is not None else ("# pin", "17"),
        ("active_high", "true" if config.relay_active_high else "false"),
        ("pre_roll_s", repr(config.relay_pre_roll_s)),
        ("hold_s", repr(config.relay_hold_s)),
    ]
    mixer = [("card", _toml_string(config.mixer_card)), ("control", _toml_string(config.mixer_control))]
    lines = [f"{key} = {value}" for key, value in top]
    for name, table in (("mqtt", mqtt), ("relay", relay), ("mixer", mixer)):
        lines += ["", f"[{name}]"] + [f"{key} = {value}" for key, value in table]
    return "\n".join(lines) + "\n"


_TOML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _toml_multiline(value: str) -> str:
    """Return value as a TOML multi-line literal string (a PEM stays readable), else a basic string."""
    if "'" in value or any((ord(c) < 0x20 and c not in "\n\t") or ord(c) == 0x7F for c in value):
        return _toml_string(value)
    return "'''\n" + value + "'''"  # TOML drops the newline right after the opening quotes


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
