"""Device and proof-of-play routes."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Row

from broadcast import domain
from broadcast.api.schemas import DEVICE_COLUMNS, CsvResponse, DeviceOut, PlayOut
from broadcast.fleet import control, device_settings, devices, zones
from broadcast.fleet import queries as fleet_queries
from broadcast.http import paging
from broadcast.http.deps import AddressDep, StationDep, UserDep
from broadcast.people import users as user_admin
from broadcast.protocol import config as protocol_config
from broadcast.reports import play_log
from broadcast.reports import tallies as reporting
from broadcast.scheduler.slots import zone as tz_zone
from broadcast.storage.models import Device

router = APIRouter(prefix="/api", tags=["devices"])
DevicePageDep = Annotated[paging.PageRequest, Depends(paging.offset_paging())]
FLOOD_COLUMNS = (Device.report_flood_since, Device.report_flood_at, Device.report_flood_dropped)
LIST_COLUMNS = (*DEVICE_COLUMNS, *FLOOD_COLUMNS)


class ReportFloodOut(BaseModel):
    since: datetime = Field(description="Khi bắt đầu đợt báo cáo bất thường gần nhất")
    last_at: datetime = Field(description="Lần cuối trạm bỏ qua báo cáo của thiết bị")
    dropped: int = Field(description="Số báo cáo trạm đã bỏ qua trong đợt đó")


class DeviceListOut(DeviceOut):
    report_flood: ReportFloodOut | None = Field(
        None,
        description="Thiết bị gửi báo cáo bất thường (quá nhiều, hoặc về lệnh trạm không gửi); null: không",
    )


@router.get("/devices", responses=paging.PAGE_HEADERS)
def list_devices(
    request: Request, response: Response, station: StationDep, user: UserDep, page: DevicePageDep
) -> list[DeviceListOut]:
    """Return the devices of the caller's commune (every commune for a province account), by zone and id,
    a page at a time (`Link` header: the next page; `X-Total-Count`: how many in all)."""
    with station.db.session() as session:
        total, rows = fleet_queries.device_page(session, user, LIST_COLUMNS, page.offset, page.limit + 1)
    shown, more = paging.split(rows, page)
    paging.set_headers(request, response, page, more=more, total=total)
    return [_listed(row) for row in shown]


def _listed(row: Row[Any]) -> DeviceListOut:
    flood = None
    if row.report_flood_since is not None and row.report_flood_at is not None:
        flood = ReportFloodOut.model_construct(
            since=row.report_flood_since, last_at=row.report_flood_at, dropped=row.report_flood_dropped
        )
    return DeviceListOut.model_construct(**dict(DeviceOut.of_row(row)), report_flood=flood)


PLAYS_PAGE = 200  # the default page of the play log (what the endpoint answered before it was paged)


def _filter(
    device_id: str | None = None,
    zone: str | None = None,
    bulletin_id: int | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> play_log.PlayFilter:
    return play_log.PlayFilter(device_id, zone, bulletin_id, outcome, since, until)


FilterDep = Annotated[play_log.PlayFilter, Depends(_filter)]
PlayPageDep = Annotated[paging.PageRequest, Depends(paging.id_paging(PLAYS_PAGE))]


@router.get("/plays", responses=paging.PAGE_HEADERS)
def list_plays(
    request: Request,
    response: Response,
    station: StationDep,
    user: UserDep,
    where: FilterDep,
    page: PlayPageDep,
) -> list[PlayOut]:
    """Return the newest plays (and skips/rejections) first, filtered by device, zone, bulletin, time,
    a page at a time (`Link` header: the next page; no total: the log holds millions of rows)."""
    paged = replace(where, limit=page.limit + 1, offset=page.offset, before_id=page.before_id)
    with station.db.session() as session:
        rows, more = paging.split(play_log.find(session, paged, user), page)
        plays = [PlayOut.of(p) for p in rows]
    paging.set_headers(
        request, response, page, more=more, last_id=plays[-1].id if plays else None, keyset=True
    )
    return plays


@router.get("/plays.csv", response_class=CsvResponse)
def export_plays(
    station: StationDep,
    user: UserDep,
    where: FilterDep,
    limit: int = Query(PLAYS_PAGE, ge=1, le=play_log.MAX_EXPORT),
) -> PlainTextResponse:
    """Export the play log as CSV (opens in a spreadsheet with Vietnamese intact)."""
    with station.db.session() as session:
        plays = play_log.find(session, replace(where, limit=limit), user)
        zones = fleet_queries.device_zones(session, user)
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
        return play_log.daily_report(session, chosen, station.settings.timezone, zone, user)


@router.get("/reports/daily.csv", response_class=CsvResponse)
def daily_report_csv(
    station: StationDep, user: UserDep, day: date | None = None, zone: str | None = None
) -> PlainTextResponse:
    """Export a day's per-zone summary as CSV (one row per zone)."""
    chosen = day or datetime.now(tz_zone(station.settings.timezone)).date()
    with station.db.session() as session:
        report = play_log.daily_report(session, chosen, station.settings.timezone, zone, user)
    return PlainTextResponse(
        reporting.daily_csv(chosen, report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="bao-cao-ngay-{chosen.isoformat()}.csv"'},
    )


class LocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    latitude: float | None = Field(None, ge=-90, le=90, description="Vĩ độ (độ thập phân); null: xoá")
    longitude: float | None = Field(None, ge=-180, le=180, description="Kinh độ (độ thập phân); null: xoá")


class LocationOut(BaseModel):
    device_id: str
    latitude: float | None
    longitude: float | None


@router.put("/devices/{device_id}/location")
def set_location(
    device_id: str, body: LocationIn, station: StationDep, user: UserDep, address: AddressDep
) -> LocationOut:
    """Set or clear where a device stands (admins; drawn on the devices page's map)."""
    user_admin.require_admin(user)
    if (body.latitude is None) != (body.longitude is None):
        raise domain.Invalid("Nhập cả vĩ độ và kinh độ (hoặc để trống cả hai).")
    with station.db.session() as session:
        device = zones.set_device_location(session, user, device_id, (body.latitude, body.longitude), address)
        return LocationOut(device_id=device.id, latitude=device.latitude, longitude=device.longitude)


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


_S = protocol_config.SPECS


class AgentSettingsIn(BaseModel):
    """The whole desired set: a setting left out (or null) reverts to the device's agent.toml."""

    model_config = ConfigDict(extra="forbid")
    heartbeat_interval_s: float | None = Field(
        None, ge=_S["heartbeat_interval_s"].low, le=_S["heartbeat_interval_s"].high, description="Giây"
    )
    relay_pre_roll_s: float | None = Field(
        None, ge=_S["relay_pre_roll_s"].low, le=_S["relay_pre_roll_s"].high, description="Giây"
    )
    relay_hold_s: float | None = Field(
        None, ge=_S["relay_hold_s"].low, le=_S["relay_hold_s"].high, description="Giây"
    )
    default_volume: int | None = Field(
        None, ge=_S["default_volume"].low, le=_S["default_volume"].high, description="Khi khởi động, %"
    )
    ntp_warn_ms: float | None = Field(
        None, ge=_S["ntp_warn_ms"].low, le=_S["ntp_warn_ms"].high, description="Ngưỡng cảnh báo lệch giờ, ms"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] | None = None


class AgentSettingsOut(BaseModel):
    device_id: str
    settings: dict[str, float | int | str]
    command_id: str
    sent: bool = Field(description="Published now; false: the broker was unreachable (sent again later).")


@router.put("/devices/{device_id}/settings")
def set_settings(
    device_id: str, body: AgentSettingsIn, station: StationDep, user: UserDep, address: AddressDep
) -> AgentSettingsOut:
    """Set a device's agent settings (admins): stored, audited, and sent as a signed config command."""
    settings, command_id, sent = device_settings.set_desired(
        station.push_context(),
        user,
        device_id,
        body.model_dump(),
        address,
        resender=station.config_resender,
    )
    return AgentSettingsOut(device_id=device_id, settings=settings, command_id=command_id, sent=sent)


class RevokedOut(BaseModel):
    device_id: str
    revoked_at: datetime
    disconnected: bool = Field(
        description="The managed broker re-read its accounts and closed the device's open connection; "
        "false: no managed broker running (an external broker's operator removes the account there)."
    )


@router.post("/devices/{device_id}/revoke")
def revoke_device(device_id: str, station: StationDep, user: UserDep, address: AddressDep) -> RevokedOut:
    """Revoke a device (admins only): its broker login stops, an open connection is closed, commands
    no longer reach it and its reports are ignored. Re-enrol it with `broadcast device add --replace`."""
    if user.role != domain.Role.ADMIN:
        raise domain.Forbidden("Chỉ quản trị viên mới được thu hồi thiết bị.")
    with station.db.session() as session:
        zones.device_in_scope(session, user, device_id)
        revocation = devices.revoke_device(session, station.settings.broker, device_id, user.name, address)
    return RevokedOut(
        device_id=revocation.device_id,
        revoked_at=revocation.revoked_at,
        disconnected=revocation.disconnected,
    )
