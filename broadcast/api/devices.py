"""Device and proof-of-play routes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from broadcast import control, play_log
from broadcast.api.deps import AddressDep, StationDep, UserDep
from broadcast.api.schemas import DeviceOut, PlayOut
from broadcast.scheduler.slots import zone as tz_zone
from broadcast.storage.models import Device

router = APIRouter(prefix="/api", tags=["devices"])


@router.get("/devices")
def list_devices(station: StationDep, user: UserDep) -> list[DeviceOut]:
    with station.db.session() as session:
        return [DeviceOut.of(d) for d in session.scalars(select(Device).order_by(Device.zone, Device.id))]


def _filter(
    device_id: str | None = None,
    zone: str | None = None,
    bulletin_id: int | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = Query(200, ge=1, le=100_000),
) -> play_log.PlayFilter:
    return play_log.PlayFilter(device_id, zone, bulletin_id, outcome, since, until, limit)


FilterDep = Annotated[play_log.PlayFilter, Depends(_filter)]


@router.get("/plays")
def list_plays(station: StationDep, user: UserDep, where: FilterDep) -> list[PlayOut]:
    """Return the newest plays (and skips/rejections) first, filtered by device, zone, bulletin, time."""
    with station.db.session() as session:
        return [PlayOut.of(p) for p in session.scalars(play_log.query(where))]


@router.get("/plays.csv", response_class=PlainTextResponse)
def export_plays(station: StationDep, user: UserDep, where: FilterDep) -> PlainTextResponse:
    """Export the play log as CSV (opens in a spreadsheet with Vietnamese intact)."""
    with station.db.session() as session:
        plays = list(session.scalars(play_log.query(where)))
        zones = {d.id: d.zone for d in session.scalars(select(Device))}
    return PlainTextResponse(
        play_log.to_csv(plays, zones, station.settings.timezone),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="nhat-ky-phat.csv"'},
    )


@router.get("/reports/daily")
def daily_report(
    station: StationDep, user: UserDep, day: date | None = None, zone: str | None = None
) -> list[dict[str, object]]:
    """Summarise a day (default today, Vietnam time) per zone: plays, minutes, silent devices, problems."""
    chosen = day or datetime.now(tz_zone(station.settings.timezone)).date()
    with station.db.session() as session:
        return play_log.daily_report(session, chosen, station.settings.timezone, zone)


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
        command_id=control.set_volume(station.push_context(), user, device_id, body.level, address)
    )


@router.post("/devices/{device_id}/test-tone", status_code=status.HTTP_202_ACCEPTED)
def test_tone(
    device_id: str, body: ToneIn, station: StationDep, user: UserDep, address: AddressDep
) -> CommandSent:
    """Play a test tone on one device a few seconds from now (relay on, tone, relay off)."""
    context = station.push_context()
    return CommandSent(
        command_id=control.play_test_tone(context, user, device_id, body.duration_s, body.frequency, address)
    )
