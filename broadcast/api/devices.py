"""Device and proof-of-play routes."""

from __future__ import annotations

from fastapi import APIRouter, Query
from sqlalchemy import select

from broadcast.api.deps import StationDep, UserDep
from broadcast.api.schemas import DeviceOut, PlayOut
from broadcast.storage.models import Device, Play

router = APIRouter(prefix="/api", tags=["devices"])


@router.get("/devices")
def list_devices(station: StationDep, user: UserDep) -> list[DeviceOut]:
    with station.db.session() as session:
        return [DeviceOut.of(d) for d in session.scalars(select(Device).order_by(Device.zone, Device.id))]


@router.get("/plays")
def list_plays(
    station: StationDep,
    user: UserDep,
    device_id: str | None = None,
    bulletin_id: int | None = None,
    outcome: str | None = None,
    limit: int = Query(200, ge=1, le=5000),
) -> list[PlayOut]:
    """Return the newest plays (and skips/rejections) first."""
    query = select(Play).order_by(Play.id.desc()).limit(limit)
    if device_id:
        query = query.where(Play.device_id == device_id)
    if bulletin_id is not None:
        query = query.where(Play.bulletin_id == bulletin_id)
    if outcome:
        query = query.where(Play.outcome == outcome)
    with station.db.session() as session:
        return [PlayOut.of(p) for p in session.scalars(query)]
