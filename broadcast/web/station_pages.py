"""Devices with the play log, and the commune dictionary."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from broadcast import control, dictionary, domain
from broadcast.accounts import Principal
from broadcast.api.deps import AddressDep, OptionalUserDep, StationDep
from broadcast.storage.models import Device, Play
from broadcast.web.pages import check_csrf, login_redirect, page

router = APIRouter(include_in_schema=False)


@router.get("/dictionary", response_class=HTMLResponse)
def dictionary_page(request: Request, station: StationDep, user: OptionalUserDep, term: str = "") -> Response:
    if user is None:
        return login_redirect()
    with station.db.session() as session:
        entries = dictionary.list_entries(session)
    return page(request, station, user, "dictionary.html", entries=entries, form={"term": term})


@router.post("/dictionary", response_class=HTMLResponse)
def dictionary_save(
    request: Request,
    station: StationDep,
    user: OptionalUserDep,
    address: AddressDep,
    csrf_token: Annotated[str, Form()],
    term: Annotated[str, Form()] = "",
    reading: Annotated[str, Form()] = "",
    delete: Annotated[str, Form()] = "",
) -> Response:
    if user is None:
        return login_redirect()
    check_csrf(request, station, csrf_token)
    try:
        with station.db.session() as session:
            if delete:
                dictionary.delete_entry(session, user.name, term, address)
            else:
                dictionary.set_entry(session, user.name, term, reading, address)
    except domain.DomainError as exc:
        with station.db.session() as session:
            entries = dictionary.list_entries(session)
        form = {"term": term, "reading": reading}
        return page(
            request, station, user, "dictionary.html", entries=entries, form=form, error=str(exc), code=422
        )
    return RedirectResponse("/dictionary", status_code=303)


@router.get("/devices", response_class=HTMLResponse)
def device_list(request: Request, station: StationDep, user: OptionalUserDep) -> Response:
    if user is None:
        return login_redirect()
    return _devices(request, station, user)


def _devices(request: Request, station: StationDep, user: Principal, **extra: Any) -> Response:
    with station.db.session() as session:
        devices = list(session.scalars(select(Device).order_by(Device.zone, Device.id)))
        plays = list(session.scalars(select(Play).order_by(Play.id.desc()).limit(50)))
    can_control = user.role in (domain.Role.APPROVER, domain.Role.ADMIN)
    return page(
        request, station, user, "devices.html", devices=devices, plays=plays, can_control=can_control, **extra
    )


@router.post("/devices/{device_id}/control", response_class=HTMLResponse)
def device_control(
    request: Request,
    device_id: str,
    station: StationDep,
    user: OptionalUserDep,
    address: AddressDep,
    csrf_token: Annotated[str, Form()],
    action: Annotated[str, Form()] = "",
    level: Annotated[int, Form()] = -1,
) -> Response:
    """Set a device's volume or play a test tone from the devices page."""
    if user is None:
        return login_redirect()
    check_csrf(request, station, csrf_token)
    try:
        if action == "volume":
            control.set_volume(station.push_context(), user, device_id, level, address)
            notice = f"Đã gửi lệnh đặt âm lượng {level}% tới {device_id}."
        elif action == "tone":
            control.play_test_tone(station.push_context(), user, device_id, 5.0, 1000.0, address)
            notice = f"Cụm loa {device_id} sẽ phát âm thử 5 giây sau ít giây nữa."
        else:
            raise domain.Invalid("Thao tác không hợp lệ.")
    except domain.DomainError as exc:
        return _devices(request, station, user, error=str(exc), code=exc.status_code)
    return _devices(request, station, user, notice=notice)
