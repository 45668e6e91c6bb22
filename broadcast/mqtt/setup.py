"""From the station's settings to broker addresses: the managed broker's listeners, where agents connect."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from broadcast.config import Settings
from broadcast.mqtt import tls
from broadcast.mqtt.broker_files import LOOPBACK, BrokerConfig
from broadcast.mqtt.target import MqttTarget, parse_mqtt_url

_WILDCARDS = ("0.0.0.0", "", "::")  # noqa: S104 - "listen everywhere", never an address to connect to


@dataclass(frozen=True)
class AgentBroker:
    """Where an agent connects and which CA certificate it pins (empty: the system store)."""

    host: str
    port: int
    tls: bool
    ca_pem: str = ""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def public_url(settings: Settings, host: str = LOOPBACK, port: int = 8080) -> str:
    """Return the base URL agents fetch clips from."""
    return (settings.public_url or f"http://{host}:{port}").rstrip("/")


def device_host(settings: Settings) -> str:
    """Return the host name or address agents reach the managed broker at."""
    if settings.mqtt_public_host:
        return settings.mqtt_public_host
    if settings.mqtt_bind in _WILDCARDS:
        return urlsplit(public_url(settings)).hostname or LOOPBACK
    return settings.mqtt_bind


def tls_names(settings: Settings) -> tuple[str, ...]:
    """Return the names the managed broker's certificate covers: loopback, the agents' host, extras."""
    names = ["localhost", LOOPBACK, "::1", device_host(settings), *settings.mqtt_tls_names]
    if settings.mqtt_bind not in _WILDCARDS:
        names.append(settings.mqtt_bind)
    return tuple(dict.fromkeys(n for n in names if n))


def broker_config(settings: Settings) -> BrokerConfig:
    """Return the managed broker's config; refuse a plain device listener off loopback."""
    if not settings.mqtt_tls and not _is_loopback(settings.mqtt_bind):
        raise ValueError(
            f"BROADCAST_MQTT_TLS=false with BROADCAST_MQTT_BIND={settings.mqtt_bind}: device passwords and "
            "reports would cross the network in clear text; keep TLS on, or bind to 127.0.0.1"
        )
    return BrokerConfig(
        directory=settings.broker_dir,
        port=settings.mqtt_port,
        bind=settings.mqtt_bind,
        executable=settings.mosquitto_bin,
        tls_port=(settings.mqtt_tls_port or settings.mqtt_port + 1) if settings.mqtt_tls else None,
        tls_names=tls_names(settings),
        ca_dir=settings.secrets_dir / "mqtt-ca",
    )


def agent_broker(settings: Settings) -> AgentBroker:
    """Return where a newly enrolled agent connects and the CA it pins."""
    if settings.mqtt_url:
        target = parse_mqtt_url(settings.mqtt_url, _ca_file(settings))
        pem = settings.mqtt_ca_file.read_text(encoding="ascii") if settings.mqtt_ca_file else ""
        return AgentBroker(target.host, target.port, target.tls, pem)
    config = broker_config(settings)
    if config.tls_port is None:
        return AgentBroker(device_host(settings), config.port, False)
    return AgentBroker(device_host(settings), config.tls_port, True, tls.ensure_ca(config.ca_directory).pem)


def station_target(settings: Settings, username: str, password: str) -> MqttTarget:
    """Return where the station's own client connects: the managed broker's plain loopback listener."""
    config = broker_config(settings)
    return MqttTarget(host=config.station_host, port=config.port, username=username, password=password)


def external_target(settings: Settings) -> MqttTarget:
    """Return the external broker of BROADCAST_MQTT_URL (verified against BROADCAST_MQTT_CA_FILE)."""
    if not settings.mqtt_url:
        raise ValueError("no external broker configured (BROADCAST_MQTT_URL is unset)")
    return parse_mqtt_url(settings.mqtt_url, _ca_file(settings))


def _ca_file(settings: Settings) -> str | None:
    return str(settings.mqtt_ca_file) if settings.mqtt_ca_file else None
