"""Device and proof-of-play routes."""

from __future__ import annotations

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from broadcast import control
from broadcast.api.deps import AddressDep, StationDep, UserDep
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


class VolumeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    level: int = Field(ge=0, le=100, description="Âm lượng 0–100 %")


class ToneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    duration_s: float = Field(5.0, gt=0, le=60)
    frequency: float = Field(1000.0, ge=20, le=20000)


class CommandSent(BaseModel):
    command_id: str


@router.post("/devices/{device_id}/volume", status_code=status.HTTP_202_ACCEPTED)
def set_volume(
    device_id: str, body: VolumeIn, station: StationDep, user: UserDep, address: AddressDep
) -> CommandSent:
    """Send a signed volume command; the device's next heartbeat shows the new level."""
    return CommandSent(
        command_id=control.set_volume(station.air_context(), user, device_id, body.level, address)
    )


@router.post("/devices/{device_id}/test-tone", status_code=status.HTTP_202_ACCEPTED)
def test_tone(
    device_id: str, body: ToneIn, station: StationDep, user: UserDep, address: AddressDep
) -> CommandSent:
    """Play a test tone on one device a few seconds from now (relay on, tone, relay off)."""
    context = station.air_context()
    return CommandSent(
        command_id=control.play_test_tone(context, user, device_id, body.duration_s, body.frequency, address)
    )
