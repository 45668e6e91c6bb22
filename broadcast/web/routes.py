"""Pages: log in, write a bulletin and hear it, approve, schedule, see devices and plays."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from broadcast import accounts, bulletins, domain, programme
from broadcast.accounts import Principal
from broadcast.api.deps import SESSION_COOKIE, AddressDep, OptionalUserDep, StationDep
from broadcast.audio import AudioError
from broadcast.scheduler.slots import zone as tz_zone
from broadcast.storage.models import Clip, Device, Play, Slot, Zone
from broadcast.tts import TtsError
from broadcast.web import csrf

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.globals.update(
    role_labels=domain.ROLE_LABELS, status_labels=domain.STATUS_LABELS, priority_labels=domain.PRIORITY_LABELS
)
WEEKDAYS = [("0", "T2"), ("1", "T3"), ("2", "T4"), ("3", "T5"), ("4", "T6"), ("5", "T7"), ("6", "CN")]


def _page(
    request: Request, station: StationDep, user: Principal | None, name: str, **context: Any
) -> Response:
    session_id = request.cookies.get(SESSION_COOKIE, "")
    token = csrf.token_for(station.keys.web_secret(), session_id) if session_id else ""
    tz = tz_zone(station.settings.timezone)
    return templates.TemplateResponse(
        request,
        name,
        {"user": user, "csrf": token, "tz": tz, **context},
        status_code=context.get("code", 200),
    )


def _login_redirect() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


def _check_csrf(request: Request, station: StationDep, token: str) -> None:
    if not csrf.is_valid(station.keys.web_secret(), request.cookies.get(SESSION_COOKIE, ""), token):
        raise domain.Forbidden("Phiên làm việc không hợp lệ, hãy tải lại trang.")


@router.get("/")
def home(user: OptionalUserDep) -> RedirectResponse:
    return RedirectResponse("/bulletins" if user else "/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, station: StationDep, user: OptionalUserDep) -> Response:
    return _page(request, station, user, "login.html")


@router.post("/login")
def login(
    request: Request,
    station: StationDep,
    address: AddressDep,
    name: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> Response:
    with station.db.session() as session:
        principal = accounts.authenticate(session, name, password)
        if principal is None:
            return _page(
                request, station, None, "login.html", error="Sai tên đăng nhập hoặc mật khẩu.", code=401
            )
        days = station.settings.session_days
        secret = accounts.issue_token(session, principal.name, "session", timedelta(days=days))
    response = RedirectResponse("/bulletins", status_code=303)
    secure = station.public_url.startswith("https://")
    response.set_cookie(
        SESSION_COOKIE, secret, max_age=days * 86400, httponly=True, samesite="lax", secure=secure
    )
    return response


@router.post("/logout")
def logout(request: Request, station: StationDep, csrf_token: Annotated[str, Form()]) -> Response:
    _check_csrf(request, station, csrf_token)
    with station.db.session() as session:
        accounts.revoke_token(session, request.cookies.get(SESSION_COOKIE, ""))
    response = _login_redirect()
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/bulletins", response_class=HTMLResponse)
def bulletin_list(request: Request, station: StationDep, user: OptionalUserDep) -> Response:
    if user is None:
        return _login_redirect()
    with station.db.session() as session:
        rows = bulletins.list_bulletins(session)
        zones = list(session.scalars(select(Zone).order_by(Zone.id)))
    return _page(request, station, user, "bulletins.html", bulletins=rows, zones=zones, form={})


@router.post("/bulletins", response_class=HTMLResponse)
def bulletin_create(
    request: Request,
    station: StationDep,
    user: OptionalUserDep,
    address: AddressDep,
    csrf_token: Annotated[str, Form()],
    title: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    priority: Annotated[str, Form()] = "normal",
    zones: Annotated[list[str] | None, Form()] = None,
) -> Response:
    if user is None:
        return _login_redirect()
    _check_csrf(request, station, csrf_token)
    draft = bulletins.BulletinDraft(title, text, priority, zones or [])
    try:
        with station.db.session() as session:
            bulletin = bulletins.create_bulletin(
                session, station.clips, station.settings, user, draft, address
            )
    except (domain.DomainError, TtsError, AudioError) as exc:
        with station.db.session() as session:
            rows = bulletins.list_bulletins(session)
            all_zones = list(session.scalars(select(Zone).order_by(Zone.id)))
        form = {"title": title, "text": text, "priority": priority, "zones": zones or []}
        return _page(
            request,
            station,
            user,
            "bulletins.html",
            bulletins=rows,
            zones=all_zones,
            form=form,
            error=str(exc),
            code=422,
        )
    return RedirectResponse(f"/bulletins/{bulletin.id}", status_code=303)


def _detail(
    request: Request, station: StationDep, user: Principal, bulletin_id: int, **extra: Any
) -> Response:
    with station.db.session() as session:
        bulletin = bulletins.get_bulletin(session, bulletin_id)
        clip = session.get(Clip, bulletin.clip_sha256)
        slots = list(session.scalars(select(Slot).where(Slot.bulletin_id == bulletin_id).order_by(Slot.id)))
        plays = list(
            session.scalars(select(Play).where(Play.bulletin_id == bulletin_id).order_by(Play.id.desc()))
        )
    return _page(
        request,
        station,
        user,
        "bulletin.html",
        b=bulletin,
        clip=clip,
        slots=slots,
        plays=plays,
        weekdays=WEEKDAYS,
        can_approve=domain.can_approve(user.role),
        can_air=domain.can_air(bulletin.status),
        **extra,
    )


@router.get("/bulletins/{bulletin_id}", response_class=HTMLResponse)
def bulletin_detail(
    request: Request, bulletin_id: int, station: StationDep, user: OptionalUserDep
) -> Response:
    if user is None:
        return _login_redirect()
    return _detail(request, station, user, bulletin_id)


@router.post("/bulletins/{bulletin_id}/approve", response_class=HTMLResponse)
def bulletin_approve(
    request: Request,
    bulletin_id: int,
    station: StationDep,
    user: OptionalUserDep,
    address: AddressDep,
    csrf_token: Annotated[str, Form()],
) -> Response:
    if user is None:
        return _login_redirect()
    _check_csrf(request, station, csrf_token)
    try:
        with station.db.session() as session:
            bulletins.approve_bulletin(session, user, bulletin_id, address)
    except domain.DomainError as exc:
        return _detail(request, station, user, bulletin_id, error=str(exc), code=exc.status_code)
    return RedirectResponse(f"/bulletins/{bulletin_id}", status_code=303)


@router.post("/bulletins/{bulletin_id}/schedule", response_class=HTMLResponse)
def bulletin_schedule(
    request: Request,
    bulletin_id: int,
    station: StationDep,
    user: OptionalUserDep,
    address: AddressDep,
    csrf_token: Annotated[str, Form()],
    mode: Annotated[str, Form()] = "once",
    start_at: Annotated[str, Form()] = "",
    daily_at: Annotated[str, Form()] = "",
    days: Annotated[list[str] | None, Form()] = None,
) -> Response:
    if user is None:
        return _login_redirect()
    _check_csrf(request, station, csrf_token)
    once = mode == "once"
    slot_request = programme.SlotRequest(
        bulletin_id, [], start_at if once else None, None if once else daily_at, None if once else days
    )
    try:
        with station.db.session() as session:
            programme.create_slot(
                session, station.scheduler, station.settings.timezone, user, slot_request, address
            )
    except domain.DomainError as exc:
        return _detail(request, station, user, bulletin_id, error=str(exc), code=exc.status_code)
    return RedirectResponse(f"/bulletins/{bulletin_id}?scheduled=1", status_code=303)


@router.get("/devices", response_class=HTMLResponse)
def device_list(request: Request, station: StationDep, user: OptionalUserDep) -> Response:
    if user is None:
        return _login_redirect()
    with station.db.session() as session:
        devices = list(session.scalars(select(Device).order_by(Device.zone, Device.id)))
        plays = list(session.scalars(select(Play).order_by(Play.id.desc()).limit(50)))
    return _page(request, station, user, "devices.html", devices=devices, plays=plays)
