"""The programme page: the week ahead per zone, the slots, and adding a stream relay."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from broadcast import domain, programme, publishing, tenancy
from broadcast.accounts import Principal
from broadcast.api.deps import AddressDep, OptionalUserDep, StationDep
from broadcast.scheduler.planner import plan
from broadcast.scheduler.slots import zone as tz_zone
from broadcast.web.pages import WEEKDAYS, check_csrf, login_redirect, page

router = APIRouter(include_in_schema=False)
DAY_NAMES = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật"]


def _programme(request: Request, station: StationDep, user: Principal, zone: str, **extra: Any) -> Response:
    now = datetime.now(UTC)
    local = tz_zone(station.settings.timezone)
    with station.db.session() as session:
        zones = tenancy.visible_zones(session, user)
        ids = [z.id for z in zones]
        chosen = zone if zone in ids else (ids[0] if ids else "")  # another commune's zone: not shown
        entries = [
            e
            for e in plan(
                publishing.load_plans(session), now, now + timedelta(days=7), station.settings.timezone
            )
            if chosen in e.zones
        ]
        mine = programme.list_slots(session, user, chosen)
        slots = [(s, programme.slot_items(session, s.id)) for s in mine]
    week: defaultdict[str, list[Any]] = defaultdict(list)
    for entry in entries:
        day = entry.start.astimezone(local)
        week[f"{DAY_NAMES[day.weekday()]} {day:%d/%m}"].append(entry)
    return page(
        request, station, user, "programme.html", zones=zones, zone=chosen, week=dict(week), slots=slots,
        weekdays=WEEKDAYS, quiet=station.settings.quiet_hours, **extra,
    )  # fmt: skip


@router.get("/programme", response_class=HTMLResponse)
def programme_page(request: Request, station: StationDep, user: OptionalUserDep, zone: str = "") -> Response:
    if user is None:
        return login_redirect()
    return _programme(request, station, user, zone)


@router.post("/programme/slots/{slot_id}/delete", response_class=HTMLResponse)
def slot_delete(
    request: Request,
    slot_id: int,
    station: StationDep,
    user: OptionalUserDep,
    address: AddressDep,
    csrf_token: Annotated[str, Form()],
    zone: Annotated[str, Form()] = "",
) -> Response:
    if user is None:
        return login_redirect()
    check_csrf(request, station, csrf_token)
    try:
        with station.db.session() as session:
            slot = programme.delete_slot(session, station.scheduler, user, slot_id, address)
    except domain.DomainError as exc:
        return _programme(request, station, user, zone, error=str(exc), code=exc.status_code)
    station.refresh_programme(slot.zones)
    return RedirectResponse(f"/programme?zone={zone}", status_code=303)


@router.post("/programme/streams", response_class=HTMLResponse)
def stream_add(
    request: Request,
    station: StationDep,
    user: OptionalUserDep,
    address: AddressDep,
    csrf_token: Annotated[str, Form()],
    zone: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    url: Annotated[str, Form()] = "",
    daily_at: Annotated[str, Form()] = "",
    minutes: Annotated[float, Form()] = 0,
    days: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Add a daily stream relay (e.g. VOV1 news) for the zone."""
    if user is None:
        return login_redirect()
    check_csrf(request, station, csrf_token)
    item = programme.ItemRequest(stream_url=url, duration_s=minutes * 60, title=title)
    slot_request = programme.SlotRequest(
        zones=[zone], daily_at=daily_at, days=days or [], items=[item], title=title
    )
    try:
        with station.db.session() as session:
            programme.create_slot(session, station.scheduler, station.rules(), user, slot_request, address)
    except domain.DomainError as exc:
        form = {"title": title, "url": url, "daily_at": daily_at, "minutes": minutes}
        return _programme(request, station, user, zone, error=str(exc), code=exc.status_code, form=form)
    station.refresh_programme([zone])
    return RedirectResponse(f"/programme?zone={zone}", status_code=303)
