"""Device registry: enrol an agent (broker credential + agent.toml), keep the broker's files in step."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcast import audit, domain, protocol
from broadcast.config import Settings
from broadcast.keys import StationKeys
from broadcast.mqtt.broker import BrokerConfig, write_credentials
from broadcast.mqtt.client import parse_mqtt_url
from broadcast.mqtt.credentials import DeviceCredential, hash_password, new_password
from broadcast.storage.models import Device, Zone
from edge_agent.config import AgentConfig, dump_config


@dataclass(frozen=True)
class Enrolment:
    device_id: str
    zone: str
    agent_toml: str


def broker_config(settings: Settings) -> BrokerConfig:
    return BrokerConfig(
        directory=settings.broker_dir,
        port=settings.mqtt_port,
        bind=settings.mqtt_bind,
        executable=settings.mosquitto_bin,
    )


def public_url(settings: Settings, host: str = "127.0.0.1", port: int = 8080) -> str:
    return (settings.public_url or f"http://{host}:{port}").rstrip("/")


def sync_broker_credentials(session: Session, settings: Settings) -> None:
    """Regenerate passwd + acl from the registry (active devices only) and reload the managed broker."""
    keys = StationKeys(settings.secrets_dir)
    devices = [
        DeviceCredential(d.id, d.mqtt_password_hash, (d.zone,))
        for d in session.scalars(select(Device).where(Device.revoked.is_(False)))
    ]
    write_credentials(broker_config(settings), hash_password(keys.broker_password()), devices)


def _agent_broker_address(settings: Settings) -> tuple[str, int, bool]:
    if settings.mqtt_url:
        target = parse_mqtt_url(settings.mqtt_url)
        return target.host, target.port, target.tls
    host = settings.mqtt_bind
    if host in ("0.0.0.0", ""):  # noqa: S104 - the agent needs a routable address, not the wildcard
        host = urlsplit(public_url(settings)).hostname or "127.0.0.1"
    return host, settings.mqtt_port, False


def add_device(
    session: Session, settings: Settings, device_id: str, zone: str, state_dir: Path, output: str, actor: str
) -> Enrolment:
    """Register a device in a zone (creating the zone if new) and return its agent config."""
    if not protocol.is_identifier(device_id) or device_id == "station":
        raise domain.Invalid(f"Mã thiết bị không hợp lệ: {device_id!r} (chữ thường, số, '-', '_').")
    if not protocol.is_identifier(zone):
        raise domain.Invalid(f"Mã vùng không hợp lệ: {zone!r} (chữ thường, số, '-', '_').")
    if session.get(Device, device_id) is not None:
        raise domain.Conflict(f"Thiết bị {device_id!r} đã tồn tại.")
    if session.get(Zone, zone) is None:
        session.add(Zone(id=zone, name=zone))
        session.flush()  # the device row references it
    password = new_password()
    session.add(Device(id=device_id, zone=zone, mqtt_password_hash=hash_password(password)))
    session.flush()
    host, port, tls = _agent_broker_address(settings)
    config = AgentConfig(
        device_id=device_id,
        zones=(zone,),
        station_url=public_url(settings),
        station_public_key=StationKeys(settings.secrets_dir).public_key_b64(),
        mqtt_host=host,
        mqtt_port=port,
        mqtt_username=device_id,
        mqtt_password=password,
        mqtt_tls=tls,
        state_dir=state_dir,
        output=output,
    )
    audit.record(session, actor, "device.add", f"device:{device_id}", zone=zone)
    sync_broker_credentials(session, settings)
    return Enrolment(device_id, zone, dump_config(config))
