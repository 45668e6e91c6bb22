"""Loudspeaker clusters: the table and map, one cluster's health and play history, volume and test tone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from broadcast import control, domain, play_log, report_data, tenancy, uptime
from broadcast.accounts import Principal
from broadcast.api.deps import AddressDep, OptionalUserDep, StationDep
from broadcast.storage.models import Device, Zone
from broadcast.web import svg_map
from broadcast.web.pages import check_csrf, login_redirect, page

router = APIRouter(include_in_schema=False)
HISTORY_DAYS = 7  # the availability and uptime shown on a cluster's page


def _can_control(user: Principal) -> bool:
    return user.role in (domain.Role.APPROVER, domain.Role.ADMIN)


def zone_map(zones: list[Zone], devices: list[Device]) -> svg_map.MapLayout | None:
    """Return the map of these zones and clusters, or None if none has coordinates."""
    places = svg_map.build_places(
        [svg_map.ZoneSpot(z.id, z.name, z.latitude, z.longitude) for z in zones],
        [svg_map.DeviceSpot(d.id, d.zone, d.online, d.latitude, d.longitude) for d in devices],
    )
    return svg_map.layout(places)


def _devices(request: Request, station: StationDep, user: Principal, **extra: Any) -> Response:
    with station.db.session() as session:
        query = (
            select(Device)
            .where(tenancy.device_filter(user), Device.revoked.is_(False))
            .order_by(Device.zone, Device.id)
        )
        devices = list(session.scalars(query))
        zones = tenancy.visible_zones(session, user)
        plays = list(session.scalars(play_log.query(play_log.PlayFilter(limit=50), user)))
    return page(
        request,
        station,
        user,
        "devices.html",
        devices=devices,
        zone_names={z.id: z.name for z in zones},
        map=zone_map(zones, devices),
        plays=plays,
        can_control=_can_control(user),
        **extra,
    )


@router.get("/devices", response_class=HTMLResponse)
def device_list(request: Request, station: StationDep, user: OptionalUserDep) -> Response:
    if user is None:
        return login_redirect()
    return _devices(request, station, user)


def _device(request: Request, station: StationDep, user: Principal, device_id: str, **extra: Any) -> Response:
    now = datetime.now(UTC)
    since = now - timedelta(days=HISTORY_DAYS)
    try:
        with station.db.session() as session:
            device = tenancy.visible_device(session, user, device_id)
            plays = list(
                session.scalars(play_log.query(play_log.PlayFilter(device_id=device_id, limit=50), user))
            )
            (availability,) = report_data.availability(session, [device], since, now, now)
            online_share = report_data.heartbeat_uptime(session, [device], since, now, now)[device.id]
    except domain.NotFound as exc:
        return _devices(request, station, user, error=str(exc), code=404)
    health = device.health or {}
    return page(
        request,
        station,
        user,
        "device.html",
        device=device,
        health=health,
        plays=plays,
        availability=availability,
        uptime=online_share,
        heartbeat_every_s=f"{uptime.HEARTBEAT_INTERVAL_S:g}",
        history_days=HISTORY_DAYS,
        agent_running=uptime.describe_duration(health.get("agent_uptime_s")),
        system_running=uptime.describe_duration(health.get("uptime_s")),
        can_control=_can_control(user),
        **extra,
    )


@router.get("/devices/{device_id}", response_class=HTMLResponse)
def device_detail(request: Request, device_id: str, station: StationDep, user: OptionalUserDep) -> Response:
    """One cluster: health, availability and uptime this week, last plays, and (for operators) controls."""
    if user is None:
        return login_redirect()
    return _device(request, station, user, device_id)


def _level(text: str) -> int:
    try:
        level = int(text.strip())
    except ValueError:
        raise domain.Invalid("Âm lượng phải là số nguyên từ 0 đến 100.") from None
    if not 0 <= level <= 100:
        raise domain.Invalid("Âm lượng phải từ 0 đến 100.")
    return level


@router.post("/devices/{device_id}/control", response_class=HTMLResponse)
def device_control(
    request: Request,
    device_id: str,
    station: StationDep,
    user: OptionalUserDep,
    address: AddressDep,
    csrf_token: Annotated[str, Form()],
    action: Annotated[str, Form()] = "",
    level: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    """Set a cluster's volume or play a test tone, from the devices table or the cluster's own page."""
    if user is None:
        return login_redirect()
    check_csrf(request, station, csrf_token)

    def answer(**extra: Any) -> Response:
        if back == "device":
            return _device(request, station, user, device_id, **extra)
        return _devices(request, station, user, **extra)

    try:
        if action == "volume":
            volume = _level(level)
            control.set_volume(station.push_context(), user, device_id, volume, address)
            notice = f"Đã gửi lệnh đặt âm lượng {volume}% tới {device_id}."
        elif action == "tone":
            control.play_test_tone(station.push_context(), user, device_id, 5.0, 1000.0, address)
            notice = f"Cụm loa {device_id} sẽ phát âm thử 5 giây sau ít giây nữa."
        else:
            raise domain.Invalid("Thao tác không hợp lệ.")
    except domain.DomainError as exc:
        return answer(error=str(exc), code=exc.status_code, typed_level=level)
    return answer(notice=notice)
