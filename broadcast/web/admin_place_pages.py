"""Admin pages, part two: zones (add, rename, place on the map) and devices (enrol, place on the map)."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from broadcast import domain
from broadcast.fleet import devices, station_address, zones
from broadcast.http.deps import AddressDep, StationDep
from broadcast.people import names, tenancy
from broadcast.people.accounts import Principal
from broadcast.storage.models import DEFAULT_COMMUNE
from broadcast.web.admin_pages import no_store
from broadcast.web.forms import shown_again
from broadcast.web.pages import CsrfChecked, PageAdmin, page

router = APIRouter(include_in_schema=False)
OUTPUTS = {"alsa": "Loa thật (ALSA, trên Raspberry Pi)", "file": "Thử nghiệm (ghi ra tệp, không phát ra loa)"}
Text = Annotated[str, Form()]


def _zones_page(request: Request, station: StationDep, admin: Principal, **extra: Any) -> Response:
    with station.db.session() as session:
        rows = tenancy.visible_zones(session, admin)
        counts: dict[str, int] = {}
        for d in zones.visible_devices(session, admin):
            counts[d.zone] = counts.get(d.zone, 0) + (0 if d.revoked else 1)
        communes = names.commune_choices(tenancy.visible_communes(session, admin), None)
    extra.setdefault("form", {"commune": admin.commune or DEFAULT_COMMUNE})
    return page(
        request,
        station,
        admin,
        "admin_zones.html",
        zones=rows,
        device_counts=counts,
        communes=communes,
        commune_labels=dict(communes),
        **extra,
    )


@router.get("/admin/zones", response_class=HTMLResponse)
def zone_list(request: Request, station: StationDep, admin: PageAdmin) -> Response:
    return _zones_page(request, station, admin)


@router.post("/admin/zones", response_class=HTMLResponse)
def zone_add(
    request: Request,
    station: StationDep,
    admin: PageAdmin,
    address: AddressDep,
    _csrf: CsrfChecked,
    zone_id: Text = "",
    name: Text = "",
    commune: Text = "",
    latitude: Text = "",
    longitude: Text = "",
) -> Response:
    form = {
        "zone_id": zone_id,
        "name": name,
        "commune": commune,
        "latitude": latitude,
        "longitude": longitude,
    }
    with shown_again(partial(_zones_page, request, station, admin, form=form)):
        where = zones.parse_coordinates(latitude, longitude)
        with station.db.session() as session:
            zones.add_zone(session, admin, zone_id.strip(), name, commune, where, address)
    return _zones_page(request, station, admin, notice=f"Đã thêm vùng {zone_id.strip()}.")


@router.post("/admin/zones/{zone_id}", response_class=HTMLResponse)
def zone_update(
    request: Request,
    zone_id: str,
    station: StationDep,
    admin: PageAdmin,
    address: AddressDep,
    _csrf: CsrfChecked,
    name: Text = "",
    latitude: Text = "",
    longitude: Text = "",
) -> Response:
    """Rename a zone and set or clear its coordinates."""
    edit = {"zone_id": zone_id, "name": name, "latitude": latitude, "longitude": longitude}
    with shown_again(partial(_zones_page, request, station, admin, edit=edit)):
        where = zones.parse_coordinates(latitude, longitude)
        with station.db.session() as session:
            zones.update_zone(session, admin, zone_id, name, where, address)
    return _zones_page(request, station, admin, notice=f"Đã lưu vùng {zone_id}.")


def _devices_page(request: Request, station: StationDep, admin: Principal, **extra: Any) -> Response:
    with station.db.session() as session:
        rows = zones.visible_devices(session, admin)
        zone_rows = tenancy.visible_zones(session, admin)
    extra.setdefault("form", {"output": "alsa"})
    return page(
        request, station, admin, "admin_devices.html", devices=rows, zones=zone_rows, outputs=OUTPUTS,
        zone_names={z.id: z.name or z.id for z in zone_rows}, **extra,
    )  # fmt: skip


@router.get("/admin/devices", response_class=HTMLResponse)
def device_list(request: Request, station: StationDep, admin: PageAdmin) -> Response:
    return _devices_page(request, station, admin)


@router.post("/admin/devices", response_class=HTMLResponse)
def device_add(
    request: Request,
    station: StationDep,
    admin: PageAdmin,
    address: AddressDep,
    _csrf: CsrfChecked,
    device_id: Text = "",
    zone: Text = "",
    output: Text = "alsa",
    latitude: Text = "",
    longitude: Text = "",
) -> Response:
    """Enrol a device exactly as `broadcast device add` does, and show its agent.toml once."""
    device_id = device_id.strip()
    form = {
        "device_id": device_id,
        "zone": zone,
        "output": output,
        "latitude": latitude,
        "longitude": longitude,
    }
    with shown_again(partial(_devices_page, request, station, admin, form=form)):
        if output not in OUTPUTS:
            raise domain.Invalid("Chọn cách phát của thiết bị.")
        where = zones.parse_coordinates(latitude, longitude)
        with station.db.session() as session:
            place = zones.zone_in_scope(session, admin, zone)  # never creates a zone, never another commune's
            enrolment = devices.add_device(
                session,
                station.settings.broker,
                device_id,
                place.id,
                Path(f"state-{device_id}"),
                "alsa" if output == "alsa" else f"file:plays-{device_id}",
                admin.name,
                commune=place.commune_id,
                address=address,
            )
            if where != (None, None):
                zones.set_device_location(session, admin, device_id, where, address)
    url = devices.public_url(station.settings.broker)
    return no_store(
        page(
            request,
            station,
            admin,
            "admin_device_added.html",
            enrolment=enrolment,
            zone_name=place.name,
            station_url=url,
            station_url_local=station_address.is_loopback(url),
        )
    )


@router.post("/admin/devices/{device_id}/location", response_class=HTMLResponse)
def device_location(
    request: Request,
    device_id: str,
    station: StationDep,
    admin: PageAdmin,
    address: AddressDep,
    _csrf: CsrfChecked,
    latitude: Text = "",
    longitude: Text = "",
) -> Response:
    """Set or clear where a loudspeaker cluster stands."""
    edit = {"device_id": device_id, "latitude": latitude, "longitude": longitude}
    with shown_again(partial(_devices_page, request, station, admin, edit=edit)):
        where = zones.parse_coordinates(latitude, longitude)
        with station.db.session() as session:
            zones.set_device_location(session, admin, device_id, where, address)
    return _devices_page(request, station, admin, notice=f"Đã lưu vị trí của {device_id}.")


@router.post("/admin/devices/{device_id}/revoke", response_class=HTMLResponse)
def device_revoke(
    request: Request,
    device_id: str,
    station: StationDep,
    admin: PageAdmin,
    address: AddressDep,
    _csrf: CsrfChecked,
    confirm: Text = "",
) -> Response:
    """Revoke a device (broker login removed, open connection ended), after an explicit confirmation."""
    with shown_again(partial(_devices_page, request, station, admin)):
        if confirm != "yes":
            raise domain.Invalid(f"Hãy đánh dấu ô xác nhận trước khi thu hồi {device_id}.")
        with station.db.session() as session:
            zones.device_in_scope(session, admin, device_id)
            revoked = devices.revoke_device(session, station.settings.broker, device_id, admin.name, address)
    ended = " Kết nối đang mở của thiết bị đã bị ngắt." if revoked.disconnected else ""
    notice = f"Đã thu hồi thiết bị {device_id}: thiết bị không còn đăng nhập được vào máy chủ MQTT.{ended}"
    return _devices_page(request, station, admin, notice=notice)
