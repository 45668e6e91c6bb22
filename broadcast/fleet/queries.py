"""What the device pages and the device API read: the clusters an account covers, listed and paged."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from broadcast.people import tenancy
from broadcast.people.accounts import Principal
from broadcast.storage.models import Device


def active_devices(session: Session, viewer: Principal) -> list[Device]:
    """Return the devices the account covers that are not revoked, by zone and id."""
    query = (
        select(Device)
        .where(tenancy.device_filter(viewer), Device.revoked.is_(False))
        .order_by(Device.zone, Device.id)
    )
    return list(session.scalars(query))


def device_zones(session: Session, viewer: Principal) -> dict[str, str]:
    """Return device id -> zone for every device the account covers (revoked ones too)."""
    query = select(Device.id, Device.zone).where(tenancy.device_filter(viewer))
    return {row.id: row.zone for row in session.execute(query)}


def device_page(
    session: Session,
    viewer: Principal,
    columns: tuple[InstrumentedAttribute[Any], ...],
    offset: int,
    limit: int,
) -> tuple[int, list[Row[Any]]]:
    """Return how many devices the account covers, and a page of them (rows of `columns`) by zone and id.

    Rows, not ORM objects: a province lists up to 2,000 devices and loading each costs more than the query.
    """
    scope = tenancy.device_filter(viewer)
    total = session.scalar(select(func.count(Device.id)).where(scope)) or 0
    query = select(*columns).where(scope).order_by(Device.zone, Device.id).offset(offset).limit(limit)
    return total, list(session.execute(query).all())
