"""Zones and where things are: list what an account may see, add and rename zones, set coordinates.

Scoping follows people/tenancy.py: a commune account manages only its commune's zones (and the devices in
them); a province account manages all and chooses the commune of what it creates.
"""

from __future__ import annotations

import math

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcast import domain, protocol
from broadcast.people import audit, tenancy
from broadcast.people.accounts import Principal
from broadcast.storage.models import Device, Zone


def visible_devices(session: Session, user: Principal) -> list[Device]:
    """Return the devices of the account's zones (revoked ones too: an admin still sees them)."""
    stmt = select(Device).where(tenancy.device_filter(user)).order_by(Device.zone, Device.id)
    return list(session.scalars(stmt))


def zone_in_scope(session: Session, user: Principal, zone_id: str) -> Zone:
    """Return a zone of the account's commune; another commune's is answered as missing."""
    zone = session.get(Zone, zone_id)
    if zone is None or not tenancy.sees(user, zone.commune_id):
        raise domain.NotFound(f"Không có vùng {zone_id!r}.")
    return zone


def device_in_scope(session: Session, user: Principal, device_id: str) -> Device:
    """Return a device (revoked ones too) in the account's zones; another commune's is answered as missing."""
    device = session.get(Device, device_id)
    zone = session.get(Zone, device.zone) if device is not None else None
    if device is None or zone is None or not tenancy.sees(user, zone.commune_id):
        raise domain.NotFound(f"Không có thiết bị {device_id!r}.")
    return device


def parse_coordinates(latitude: str, longitude: str) -> tuple[float | None, float | None]:
    """Return (lat, lon) from form text (a decimal comma is fine); both blank clears them."""
    lat_text, lon_text = latitude.strip().replace(",", "."), longitude.strip().replace(",", ".")
    if not lat_text and not lon_text:
        return None, None
    if not lat_text or not lon_text:
        raise domain.Invalid("Nhập cả vĩ độ và kinh độ (hoặc để trống cả hai).")
    try:
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        raise domain.Invalid("Vĩ độ và kinh độ phải là số thập phân, ví dụ 21.0285 và 105.8542.") from None
    if not (math.isfinite(lat) and -90 <= lat <= 90):
        raise domain.Invalid("Vĩ độ phải từ -90 đến 90.")
    if not (math.isfinite(lon) and -180 <= lon <= 180):
        raise domain.Invalid("Kinh độ phải từ -180 đến 180.")
    return round(lat, 6), round(lon, 6)


def add_zone(
    session: Session,
    user: Principal,
    zone_id: str,
    name: str,
    commune: str,
    coordinates: tuple[float | None, float | None],
    address: str,
) -> Zone:
    """Create a zone in the account's commune (or, for a province account, the chosen one)."""
    if not protocol.is_identifier(zone_id):
        raise domain.Invalid(f"Mã vùng không hợp lệ: {zone_id!r} (chữ thường không dấu, số, '-', '_').")
    title = domain.clean_text(name, field="Tên vùng", max_chars=200)
    commune_id = tenancy.choose_commune(session, user, commune)
    if session.get(Zone, zone_id) is not None:
        raise domain.Conflict(f"Vùng {zone_id!r} đã tồn tại.")
    zone = Zone(
        id=zone_id, name=title, commune_id=commune_id, latitude=coordinates[0], longitude=coordinates[1]
    )
    session.add(zone)
    audit.record(session, user.name, "zone.add", f"zone:{zone_id}", address, name=title, commune=commune_id)
    return zone


def update_zone(
    session: Session,
    user: Principal,
    zone_id: str,
    name: str,
    coordinates: tuple[float | None, float | None],
    address: str,
) -> Zone:
    """Rename a zone and set (or clear) its coordinates."""
    zone = zone_in_scope(session, user, zone_id)
    title = domain.clean_text(name, field="Tên vùng", max_chars=200)
    before = {"name": zone.name, "latitude": zone.latitude, "longitude": zone.longitude}
    zone.name, zone.latitude, zone.longitude = title, coordinates[0], coordinates[1]
    after = {"name": zone.name, "latitude": zone.latitude, "longitude": zone.longitude}
    if after != before:
        audit.record(
            session, user.name, "zone.update", f"zone:{zone_id}", address, before=before, after=after
        )
    return zone


def set_device_location(
    session: Session,
    user: Principal,
    device_id: str,
    coordinates: tuple[float | None, float | None],
    address: str,
) -> Device:
    """Set (or clear) where a loudspeaker cluster stands."""
    device = tenancy.visible_device(session, user, device_id)
    before = [device.latitude, device.longitude]
    device.latitude, device.longitude = coordinates
    if [device.latitude, device.longitude] != before:
        audit.record(
            session,
            user.name,
            "device.location",
            f"device:{device_id}",
            address,
            before=before,
            after=[device.latitude, device.longitude],
        )
    return device
