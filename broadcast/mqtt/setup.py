"""From the station's broker to broker addresses: the managed broker's listeners, where agents connect."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from broadcast.config import BrokerSettings
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


def public_url(broker: BrokerSettings, host: str = LOOPBACK, port: int = 8080) -> str:
    """Return the base URL agents fetch clips from."""
    return (broker.public_url or f"http://{host}:{port}").rstrip("/")


def device_host(broker: BrokerSettings) -> str:
    """Return the host name or address agents reach the managed broker at."""
    if broker.mqtt_public_host:
        return broker.mqtt_public_host
    if broker.mqtt_bind in _WILDCARDS:
        return urlsplit(public_url(broker)).hostname or LOOPBACK
    return broker.mqtt_bind


def tls_names(broker: BrokerSettings) -> tuple[str, ...]:
    """Return the names the managed broker's certificate covers: loopback, the agents' host, extras."""
    names = ["localhost", LOOPBACK, "::1", device_host(broker), *broker.mqtt_tls_names]
    if broker.mqtt_bind not in _WILDCARDS:
        names.append(broker.mqtt_bind)
    return tuple(dict.fromkeys(n for n in names if n))


def broker_config(broker: BrokerSettings) -> BrokerConfig:
    """Return the managed broker's config; refuse a plain device listener off loopback."""
    if not broker.mqtt_tls and not _is_loopback(broker.mqtt_bind):
        raise ValueError(
            f"BROADCAST_MQTT_TLS=false with BROADCAST_MQTT_BIND={broker.mqtt_bind}: device passwords and "
            "reports would cross the network in clear text; keep TLS on, or bind to 127.0.0.1"
        )
    return BrokerConfig(
        directory=broker.broker_dir,
        port=broker.mqtt_port,
        bind=broker.mqtt_bind,
        executable=broker.mosquitto_bin,
        tls_port=(broker.mqtt_tls_port or broker.mqtt_port + 1) if broker.mqtt_tls else None,
        tls_names=tls_names(broker),
        ca_dir=broker.secrets_dir / "mqtt-ca",
    )


def agent_broker(broker: BrokerSettings) -> AgentBroker:
    """Return where a newly enrolled agent connects and the CA it pins."""
    if broker.mqtt_url:
        target = parse_mqtt_url(broker.mqtt_url, _ca_file(broker))
        pem = broker.mqtt_ca_file.read_text(encoding="ascii") if broker.mqtt_ca_file else ""
        return AgentBroker(target.host, target.port, target.tls, pem)
    config = broker_config(broker)
    if config.tls_port is None:
        return AgentBroker(device_host(broker), config.port, False)
    return AgentBroker(device_host(broker), config.tls_port, True, tls.ensure_ca(config.ca_directory).pem)


def station_target(broker: BrokerSettings, username: str, password: str) -> MqttTarget:
    """Return where the station's own client connects: the managed broker's plain loopback listener."""
    config = broker_config(broker)
    return MqttTarget(host=config.station_host, port=config.port, username=username, password=password)


def external_target(broker: BrokerSettings) -> MqttTarget:
    """Return the external broker of BROADCAST_MQTT_URL (verified against BROADCAST_MQTT_CA_FILE)."""
    if not broker.mqtt_url:
        raise ValueError("no external broker configured (BROADCAST_MQTT_URL is unset)")
    return parse_mqtt_url(broker.mqtt_url, _ca_file(broker))


def _ca_file(broker: BrokerSettings) -> str | None:
    return str(broker.mqtt_ca_file) if broker.mqtt_ca_file else None
