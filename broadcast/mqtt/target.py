"""Where the station's broker is and how the station logs in (pure: parsing, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True)
class MqttTarget:
    """Where the broker is and how the station logs in."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None  # PEM CA certificate(s) to verify the broker by; None: the system store


def parse_mqtt_url(url: str, ca_file: str | None = None) -> MqttTarget:
    """Return the target of an mqtt://user:pass@host:port or mqtts://... URL, or raise ValueError."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts"):
        raise ValueError(f"MQTT URL must start with mqtt:// or mqtts://, got {url!r}")
    if not parts.hostname:
        raise ValueError(f"MQTT URL has no host: {url!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"MQTT URL must be mqtt[s]://user:pass@host:port with nothing after: {url!r}")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"MQTT URL has a bad port: {url!r}") from exc
    tls = parts.scheme == "mqtts"
    if ca_file and not tls:
        raise ValueError(f"a CA file is set but the MQTT URL is not mqtts://: {url!r}")
    return MqttTarget(
        host=parts.hostname,
        port=port or (8883 if tls else 1883),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        tls=tls,
        ca_file=ca_file or None,
    )
