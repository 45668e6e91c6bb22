"""Loudspeaker clusters: the table and map, one cluster's health and play history, volume and test tone."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from broadcast import domain
from broadcast.fleet import control, device_settings
from broadcast.fleet import queries as fleet_queries
from broadcast.http import paging
from broadcast.http.deps import AddressDep, StationDep
from broadcast.people import tenancy
from broadcast.people.accounts import Principal
from broadcast.reports import play_log, play_rows, uptime
from broadcast.reports import queries as report_data
from broadcast.storage.models import Device, Zone
from broadcast.web import svg_map
from broadcast.web.forms import shown_again
from broadcast.web.pages import CsrfChecked, PageUser, page

router = APIRouter(include_in_schema=False)
HISTORY_DAYS = 7  # the availability and uptime shown on a cluster's page
TABLE_PAGE = 200  # clusters per page of the table (a province has up to ~2,000)
PLAYS_PAGE = 50  # plays per page of the recent play log


def _can_control(user: Principal) -> bool:
    return user.role in (domain.Role.APPROVER, domain.Role.ADMIN)


def zone_map(zones: list[Zone], devices: list[Device]) -> svg_map.MapLayout | None:
    """Return the map of these zones and clusters, or None if none has coordinates."""
    places = svg_map.build_places(
        [svg_map.ZoneSpot(z.id, z.name, z.latitude, z.longitude) for z in zones],
        [svg_map.DeviceSpot(d.id, d.zone, d.online, d.latitude, d.longitude) for d in devices],
    )
    return svg_map.layout(places)


def _devices(
    request: Request,
    station: StationDep,
    user: Principal,
    page_no: int = 1,
    plays_page: int = 1,
    **extra: Any,
) -> Response:
    """Render the clusters table (a page of TABLE_PAGE; counts and map cover all) and a page of plays."""
    with station.db.session() as session:
        devices = fleet_queries.active_devices(session, user)
        zones = tenancy.visible_zones(session, user)
        window = play_log.PlayFilter(limit=PLAYS_PAGE + 1, offset=(plays_page - 1) * PLAYS_PAGE)
        plays = play_rows.rows(session, play_log.find(session, window, user))
        start = (page_no - 1) * TABLE_PAGE
        shown = devices[start : start + TABLE_PAGE]
        known = play_rows.describe_commands(session, _now_playing(shown))
        on_air = {d.id: play_rows.on_air(known, (d.health or {}).get("now_playing")) for d in shown}
    params = {"page": _number(page_no), "plays_page": _number(plays_page)}
    more = len(devices) > start + TABLE_PAGE
    pages = paging.page_urls("/devices", params, "page", page_no, more)
    plays_pages = paging.page_urls(
        "/devices", params, "plays_page", plays_page, len(plays) > PLAYS_PAGE, "#plays"
    )
    return page(
        request,
        station,
        user,
        "devices.html",
        devices=devices,
        shown=shown,
        page_no=page_no,
        prev_url=pages[0],
        next_url=pages[1],
        zone_names={z.id: z.name for z in zones},
        on_air=on_air,
        clocks={d.id: clock_text(d.health or {}) for d in shown},
        map=zone_map(zones, devices),
        plays=plays[:PLAYS_PAGE],
        plays_page=plays_page,
        plays_prev_url=plays_pages[0],
        plays_next_url=plays_pages[1],
        can_control=_can_control(user),
        **extra,
    )


def _now_playing(devices: list[Device]) -> list[str]:
    """Return the command ids the devices' last heartbeats say are on the air."""
    ids = ((d.health or {}).get("now_playing") for d in devices)
    return [i for i in ids if isinstance(i, str) and i]


def clock_text(health: dict[str, Any]) -> str:
    """Return a cluster's clock offset for the page, with the measurement's uncertainty when it matters."""
    offset = plausible(health.get("clock_offset_ms"))
    if offset is None:
        return "—"
    uncertainty = plausible(health.get("clock_uncertainty_ms"))
    if uncertainty is None and health.get("clock_source") == "http":
        uncertainty = fleet_queries.HTTP_CLOCK_UNCERTAINTY_MS
    if uncertainty is not None and uncertainty >= 500:
        return f"không rõ (đo được {offset:+.0f} ms, sai số ±{uncertainty / 1000:.1g} s)"
    if uncertainty is not None and uncertainty >= 1:
        return f"{offset:+.0f} ms (±{uncertainty:.0f} ms)"
    return f"{offset:+.0f} ms"


def _number(page_no: int) -> str:
    return str(page_no) if page_no > 1 else ""  # page 1 is the default: left out of links


@router.get("/devices", response_class=HTMLResponse)
def device_list(
    request: Request,
    station: StationDep,
    user: PageUser,
    page_no: Annotated[str, Query(alias="page")] = "",
    plays_page: str = "",
) -> Response:
    with shown_again(partial(_devices, request, station, user)):
        numbers = paging.page_number(page_no), paging.page_number(plays_page)
    return _devices(request, station, user, *numbers)


def plausible(value: object, scale: float = 1.0) -> float | None:
    """Return a stored health number divided by scale, or None if it is missing or absurd.

    Health is stored as the agent sent it; one stored before numbers were bounded (10**309) must not
    take the page down with an OverflowError.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        scaled = float(value) / scale
    except OverflowError:
        return None
    return scaled if math.isfinite(scaled) and abs(scaled) < 1e15 else None


def shown_number(value: object, scale: float = 1.0, pattern: str = "%.1f") -> str | None:
    """Return a stored health number formatted for the page, or None if it is missing or absurd."""
    scaled = plausible(value, scale)
    return None if scaled is None else pattern % scaled


def _device(request: Request, station: StationDep, user: Principal, device_id: str, **extra: Any) -> Response:
    now = datetime.now(UTC)
    since = now - timedelta(days=HISTORY_DAYS)
    again = partial(_devices, request, station, user)
    with shown_again(again, domain.NotFound), station.db.session() as session:
        device = tenancy.visible_device(session, user, device_id)
        plays = play_rows.rows(
            session, play_log.find(session, play_log.PlayFilter(device_id=device_id, limit=50), user)
        )
        (availability,) = report_data.availability(session, [device], since, now, now)
        online_share = report_data.heartbeat_uptime(session, [device], since, now, now)[device.id]
        health = device.health or {}
        playing = health.get("now_playing")
        known = play_rows.describe_commands(session, [playing] if isinstance(playing, str) else [])
        on_air = play_rows.on_air(known, playing)
        zone = session.get(Zone, device.zone)
        zone_name = zone.name if zone is not None and zone.name else device.zone
        refusing = fleet_queries.refusing(session, device, zone_name, now)
    interval = uptime.configured_interval(device.settings) or uptime.HEARTBEAT_INTERVAL_S
    return page(
        request,
        station,
        user,
        "device.html",
        device=device,
        health=health,
        plays=plays,
        on_air=on_air,
        zone_name=zone_name,
        refusing=refusing,
        availability=availability,
        uptime=online_share,
        heartbeat_every_s=f"{interval:g}",
        history_days=HISTORY_DAYS,
        flood=device if device.report_flood_since and (device.report_flood_at or now) > since else None,
        shown={
            "clock": clock_text(health),
            "cpu_temp_c": shown_number(health.get("cpu_temp_c"), pattern="%.0f"),
            "disk_free_gb": shown_number(health.get("disk_free_bytes"), 1e9),
            "cache_mb": shown_number(health.get("cache_bytes"), 1e6),
        },
        agent_running=uptime.describe_duration(plausible(health.get("agent_uptime_s"))),
        system_running=uptime.describe_duration(plausible(health.get("uptime_s"))),
        can_control=_can_control(user),
        can_configure=user.role == domain.Role.ADMIN,
        setting_rows=device_settings.form_rows(
            device.settings, health.get("settings"), extra.pop("typed", None)
        ),
        **extra,
    )


@router.get("/devices/{device_id}", response_class=HTMLResponse)
def device_detail(request: Request, device_id: str, station: StationDep, user: PageUser) -> Response:
    """One cluster: health, availability and uptime this week, last plays, and (for operators) controls."""
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
    user: PageUser,
    address: AddressDep,
    _csrf: CsrfChecked,
    action: Annotated[str, Form()] = "",
    level: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    """Set a cluster's volume or play a test tone, from the devices table or the cluster's own page."""

    def answer(**extra: Any) -> Response:
        if back == "device":
            return _device(request, station, user, device_id, **extra)
        return _devices(request, station, user, **extra)

    with shown_again(partial(answer, typed_level=level)):
        if action == "volume":
            volume = _level(level)
            control.set_volume(station.push_context(), user, device_id, volume, address)
            notice = f"Đã gửi lệnh đặt âm lượng {volume}% tới {device_id}."
        elif action == "tone":
            control.play_test_tone(station.push_context(), user, device_id, 5.0, 1000.0, address)
            notice = f"Cụm loa {device_id} sẽ phát âm thử 5 giây sau ít giây nữa."
        else:
            raise domain.Invalid("Thao tác không hợp lệ.")
    return answer(notice=notice)


@router.post("/devices/{device_id}/settings", response_class=HTMLResponse)
def device_settings_form(
    request: Request,
    device_id: str,
    station: StationDep,
    user: PageUser,
    address: AddressDep,
    _csrf: CsrfChecked,
    heartbeat_interval_s: Annotated[str, Form()] = "",
    relay_pre_roll_s: Annotated[str, Form()] = "",
    relay_hold_s: Annotated[str, Form()] = "",
    default_volume: Annotated[str, Form()] = "",
    ntp_warn_ms: Annotated[str, Form()] = "",
    log_level: Annotated[str, Form()] = "",
) -> Response:
    """Save a cluster's agent settings (admins) and send them as a signed config command."""
    typed = {
        "heartbeat_interval_s": heartbeat_interval_s,
        "relay_pre_roll_s": relay_pre_roll_s,
        "relay_hold_s": relay_hold_s,
        "default_volume": default_volume,
        "ntp_warn_ms": ntp_warn_ms,
        "log_level": log_level,
    }
    with shown_again(partial(_device, request, station, user, device_id, typed=typed)):
        values = device_settings.parse_form(typed)
        _, _, sent = device_settings.set_desired(
            station.push_context(), user, device_id, values, address, resender=station.config_resender
        )
    if sent:
        notice = f"Đã lưu cài đặt và gửi lệnh (đã ký) tới {device_id}."
    else:
        notice = "Đã lưu cài đặt; chưa gửi được (mất kết nối MQTT), trạm sẽ gửi lại khi cụm loa báo về."
    return _device(request, station, user, device_id, notice=notice)
