"""Multi-commune tenancy: which communes, zones, devices and records an account may see and change.

A province account (``Principal.commune is None``) sees every commune; a commune account sees only its
own. A record of another commune is answered as missing (404), never as forbidden, so ids do not leak;
a zone of another commune is refused exactly like a zone that does not exist. Devices belong to a
commune through their zone. Every list, fetch and change goes through the rules here. The abbreviation
dictionary is deliberately station-wide (see SCALING.md, "Tenancy").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from broadcast import domain, protocol
from broadcast.people import audit
from broadcast.people.accounts import Principal
from broadcast.storage.models import DEFAULT_COMMUNE, Commune, Device, Play, Zone

# --- pure rules -------------------------------------------------------------------------------------


def sees(principal: Principal, commune_id: str) -> bool:
    """Return True if the account may see records of this commune."""
    return principal.commune is None or principal.commune == commune_id


def outside(principal: Principal, zone_communes: Mapping[str, str]) -> list[str]:
    """Return the zones (of a zone -> commune map) the account does not cover, in order."""
    return [z for z, c in zone_communes.items() if not sees(principal, c)]


def owning_commune(principal: Principal, zones: Sequence[str], zone_communes: Mapping[str, str]) -> str:
    """Return the commune a record for these zones belongs to.

    Zones of two communes in one record are refused unless a province account asks; such a record is
    filed under the commune of its first zone, and only a province account may change it.
    """
    communes = list(dict.fromkeys(zone_communes[z] for z in zones if z in zone_communes))
    if not communes:
        raise domain.Invalid("Chọn ít nhất một cụm loa (vùng phát).")
    if len(communes) > 1 and principal.commune is not None:
        raise domain.Invalid(
            "Các cụm loa đã chọn thuộc nhiều xã; chỉ tài khoản cấp tỉnh được phát chung cho nhiều xã."
        )
    return communes[0]


# --- where-clauses ----------------------------------------------------------------------------------


def commune_filter(column: InstrumentedAttribute[str], principal: Principal) -> ColumnElement[bool]:
    """Return a where-clause keeping the rows of `column`'s commune the account may see."""
    return true() if principal.commune is None else column == principal.commune


def zone_filter(principal: Principal) -> ColumnElement[bool]:
    """Return a where-clause on Zone keeping the account's zones."""
    return commune_filter(Zone.commune_id, principal)


def device_filter(principal: Principal) -> ColumnElement[bool]:
    """Return a where-clause on Device keeping the devices in the account's zones."""
    if principal.commune is None:
        return true()
    return Device.zone.in_(select(Zone.id).where(Zone.commune_id == principal.commune))


def play_filter(principal: Principal) -> ColumnElement[bool]:
    """Return a where-clause on Play keeping the reports of the account's devices."""
    if principal.commune is None:
        return true()
    return Play.device_id.in_(select(Device.id).where(device_filter(principal)))


# --- queries ----------------------------------------------------------------------------------------


def visible_zones(session: Session, principal: Principal) -> list[Zone]:
    """Return the zones the account may broadcast to, by id."""
    return list(session.scalars(select(Zone).where(zone_filter(principal)).order_by(Zone.id)))


def visible_zone_ids(session: Session, principal: Principal) -> set[str]:
    return set(session.scalars(select(Zone.id).where(zone_filter(principal))))


def zone_communes(session: Session, zones: Iterable[str]) -> dict[str, str]:
    """Return zone -> commune for the zones that exist, in the order given."""
    wanted = list(dict.fromkeys(zones))
    found = dict(session.execute(select(Zone.id, Zone.commune_id).where(Zone.id.in_(wanted))).all())
    return {z: found[z] for z in wanted if z in found}


def check_zones_in_scope(session: Session, principal: Principal, zones: list[str]) -> list[str]:
    """Return the cleaned zones; a zone of another commune is refused like an unknown one (422)."""
    return domain.check_zones(zones, visible_zone_ids(session, principal))


def commune_of_zones(session: Session, principal: Principal, zones: list[str]) -> str:
    """Return the commune a new record for these (already checked) zones belongs to."""
    return owning_commune(principal, zones, zone_communes(session, zones))


def scope_zones(session: Session, principal: Principal, zones: list[str]) -> tuple[list[str], str]:
    """Check the zones of a new record and return them with the commune it belongs to."""
    clean = check_zones_in_scope(session, principal, zones)
    return clean, commune_of_zones(session, principal, clean)


def check_visible(principal: Principal | None, commune_id: str, missing: str) -> None:
    """Raise NotFound(missing) if the account may not see a record of this commune (None: no scope)."""
    if principal is not None and not sees(principal, commune_id):
        raise domain.NotFound(missing)


def check_may_change(session: Session, principal: Principal, zones: Iterable[str]) -> None:
    """Refuse to change a record that also reaches another commune's zones (a province record)."""
    if principal.commune is None:
        return
    foreign = outside(principal, zone_communes(session, zones))
    if foreign:
        raise domain.Forbidden(
            "Mục này phát cả tới cụm loa của xã khác; chỉ tài khoản cấp tỉnh được thay đổi."
        )


def visible_device(session: Session, principal: Principal, device_id: str) -> Device:
    """Return an active device the account covers, or raise NotFound."""
    device = session.get(Device, device_id)
    zone = session.get(Zone, device.zone) if device is not None else None
    if device is None or device.revoked or zone is None or not sees(principal, zone.commune_id):
        raise domain.NotFound(f"Không có thiết bị {device_id!r}.")
    return device


# --- communes ---------------------------------------------------------------------------------------


def add_commune(session: Session, commune_id: str, name: str, actor: str) -> Commune:
    """Create a commune; refuses malformed or duplicate ids and empty names."""
    if not protocol.is_identifier(commune_id):
        raise domain.Invalid(f"Mã xã không hợp lệ: {commune_id!r} (chữ thường không dấu, số, '-', '_').")
    clean = domain.clean_text(name, field="Tên xã", max_chars=200)
    if session.get(Commune, commune_id) is not None:
        raise domain.Conflict(f"Xã {commune_id!r} đã tồn tại.")
    commune = Commune(id=commune_id, name=clean)
    session.add(commune)
    session.flush()
    audit.record(session, actor, "commune.add", f"commune:{commune_id}", name=clean)
    return commune


def list_communes(session: Session) -> list[Commune]:
    return list(session.scalars(select(Commune).order_by(Commune.id)))


def visible_communes(session: Session, principal: Principal) -> list[Commune]:
    """Return the communes the account works for: all of them for a province account."""
    return list(
        session.scalars(select(Commune).where(commune_filter(Commune.id, principal)).order_by(Commune.id))
    )


def choose_commune(session: Session, user: Principal, wanted: str) -> str:
    """Return the commune a new zone or account goes to: a commune account's own; else the one chosen."""
    if user.commune is not None:
        if wanted and wanted != user.commune:
            raise domain.Forbidden("Chỉ được quản lý xã của mình.")
        return user.commune
    chosen = wanted or DEFAULT_COMMUNE
    if session.get(Commune, chosen) is None:
        raise domain.Invalid(f"Không có xã {chosen!r}.")
    return chosen
