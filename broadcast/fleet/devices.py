"""Device registry: enrol, re-enrol and revoke agents (broker account, agent.toml), broker kept in step."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcast import domain, protocol
from broadcast.config import BrokerSettings
from broadcast.mqtt.broker import write_credentials
from broadcast.mqtt.credentials import DeviceCredential, hash_password, is_reserved_user, new_password
from broadcast.mqtt.setup import agent_broker, broker_config, public_url
from broadcast.people import audit
from broadcast.signing.keys import StationKeys
from broadcast.storage.models import DEFAULT_COMMUNE, Commune, Device, Zone
from edge_agent.config import AgentConfig, dump_config

__all__ = [
    "Enrolment",
    "Revocation",
    "add_device",
    "broker_config",
    "public_url",
    "revoke_device",
    "sync_broker_credentials",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Enrolment:
    device_id: str
    zone: str
    agent_toml: str


@dataclass(frozen=True)
class Revocation:
    device_id: str
    revoked_at: datetime
    # The running managed broker re-read its accounts, which closes the device's open connection
    # (Mosquitto 2.0; tests/security check it). False: no managed broker running.
    disconnected: bool


def sync_broker_credentials(session: Session, broker: BrokerSettings) -> bool:
    """Regenerate passwd + acl from the registry (active devices only) and reload the managed broker.

    Return True if a running managed broker reloaded: it then also closes the open connection of any
    device whose account is gone or whose password changed (Mosquitto 2.0; tests/security check it).
    """
    keys = StationKeys(broker.secrets_dir)
    devices = [
        DeviceCredential(d.id, d.mqtt_password_hash, (d.zone,))
        for d in session.scalars(select(Device).where(Device.revoked.is_(False)))
    ]
    # Accounts station-1 ... station-N for the workers, however many the setting or this worker's number says.
    workers = max(broker.station_workers, broker.worker_id or 0)
    return write_credentials(broker_config(broker), hash_password(keys.broker_password()), devices, workers)


def revoke_device(
    session: Session, broker: BrokerSettings, device_id: str, actor: str, address: str = ""
) -> Revocation:
    """Revoke a device: its broker account goes (an open connection is closed), commands stop reaching
    it and its reports are ignored. Only `add_device(..., replace=True)` (a new password) undoes it."""
    device = session.get(Device, device_id)
    if device is None:
        raise domain.NotFound(f"Không có thiết bị {device_id!r}.")
    if device.revoked:
        raise domain.Conflict(f"Thiết bị {device_id!r} đã bị thu hồi.")
    device.revoked = True
    device.revoked_at = datetime.now(UTC)
    device.online = False
    session.flush()  # the credential files are rendered from this transaction's view
    # With an external broker the files are still written, but its operator removes the account there.
    disconnected = sync_broker_credentials(session, broker)
    audit.record(session, actor, "device.revoke", f"device:{device_id}", address, disconnected=disconnected)
    log.warning("device %s revoked by %s (managed broker reloaded: %s)", device_id, actor, disconnected)
    return Revocation(device_id, device.revoked_at, disconnected)


def add_device(
    session: Session,
    broker: BrokerSettings,
    device_id: str,
    zone: str,
    state_dir: Path,
    output: str,
    actor: str,
    commune: str | None = None,
    address: str = "",
    replace: bool = False,
    station_url: str | None = None,
) -> Enrolment:
    """Register a device in a zone and return its agent config (`address`: where the request came from).

    A new zone is created in `commune` (None: the default commune); an existing zone must belong to it.
    `replace` re-enrols an existing (e.g. revoked) device with a new password; an old connection ends.
    `station_url` is the base URL the agent trusts clips under (None: the broker settings' public URL;
    `station_address.agent_url` finds it outside a running station).
    """
    if not protocol.is_identifier(device_id) or is_reserved_user(device_id):
        raise domain.Invalid(f"Mã thiết bị không hợp lệ: {device_id!r} (chữ thường, số, '-', '_').")
    if not protocol.is_identifier(zone):
        raise domain.Invalid(f"Mã vùng không hợp lệ: {zone!r} (chữ thường, số, '-', '_').")
    device = session.get(Device, device_id)
    if device is not None and not replace:
        state = "đã bị thu hồi" if device.revoked else "đã tồn tại"
        raise domain.Conflict(f"Thiết bị {device_id!r} {state}; cấp lại với mật khẩu mới bằng --replace.")
    if commune is not None and session.get(Commune, commune) is None:
        raise domain.Invalid(f"Không có xã {commune!r} (thêm bằng «broadcast commune add»).")
    existing = session.get(Zone, zone)
    if existing is None:
        session.add(Zone(id=zone, name=zone, commune_id=commune or DEFAULT_COMMUNE))
        session.flush()  # the device row references it
    elif commune is not None and existing.commune_id != commune:
        raise domain.Conflict(f"Vùng {zone!r} thuộc xã {existing.commune_id!r}, không phải xã {commune!r}.")
    password = new_password()
    if device is None:
        session.add(Device(id=device_id, zone=zone, mqtt_password_hash=hash_password(password)))
    else:  # the broker's reload below also closes a connection still using the old password
        device.zone, device.mqtt_password_hash = zone, hash_password(password)
        device.revoked, device.revoked_at, device.online = False, None, False
    session.flush()
    reach = agent_broker(broker)
    config = AgentConfig(
        device_id=device_id,
        zones=(zone,),
        station_url=station_url or public_url(broker),
        station_public_key=StationKeys(broker.secrets_dir).public_key_b64(),
        mqtt_host=reach.host,
        mqtt_port=reach.port,
        mqtt_username=device_id,
        mqtt_password=password,
        mqtt_tls=reach.tls,
        mqtt_ca_pem=reach.ca_pem,
        state_dir=state_dir,
        output=output,
    )
    action = "device.add" if device is None else "device.replace"
    audit.record(session, actor, action, f"device:{device_id}", address, zone=zone)
    sync_broker_credentials(session, broker)
    return Enrolment(device_id, zone, dump_config(config))
