"""Write a bulletin, hear it, approve it, read it again, schedule it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from broadcast import bulletins, domain, programme
from broadcast.accounts import Principal
from broadcast.api.deps import AddressDep, OptionalUserDep, StationDep
from broadcast.audio import AudioError
from broadcast.storage.models import Clip, Play, Slot, SlotItem, Zone
from broadcast.tts import TtsError
from broadcast.web.pages import WEEKDAYS, check_csrf, login_redirect, page

router = APIRouter(include_in_schema=False)
ENGINES = {
    "espeak": "espeak-ng (ngoại tuyến, luôn sẵn sàng)",
    "piper": "Piper (ngoại tuyến, giọng tự nhiên hơn; cần cài giọng)",
    "viettts": "vietTTS (ngoại tuyến; cần bộ trọng số)",
    "gtts": "Google (trực tuyến)",
    "edge": "Microsoft Edge (trực tuyến)",
}


@router.get("/bulletins", response_class=HTMLResponse)
def bulletin_list(request: Request, station: StationDep, user: OptionalUserDep) -> Response:
    if user is None:
        return login_redirect()
    with station.db.session() as session:
        rows = bulletins.list_bulletins(session)
        zones = list(session.scalars(select(Zone).order_by(Zone.id)))
    form = {"engine": station.settings.tts_engine}
    return page(
        request, station, user, "bulletins.html", bulletins=rows, zones=zones, form=form, engines=ENGINES
    )


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
    engine: Annotated[str, Form()] = "",
) -> Response:
    if user is None:
        return login_redirect()
    check_csrf(request, station, csrf_token)
    draft = bulletins.BulletinDraft(title, text, priority, zones or [], engine or None)
    try:
        with station.db.session() as session:
            bulletin = bulletins.create_bulletin(
                session, station.clips, station.settings, user, draft, address
            )
    except (domain.DomainError, TtsError, AudioError) as exc:
        with station.db.session() as session:
            rows = bulletins.list_bulletins(session)
            all_zones = list(session.scalars(select(Zone).order_by(Zone.id)))
        form = {"title": title, "text": text, "priority": priority, "zones": zones or [], "engine": engine}
        return page(
            request,
            station,
            user,
            "bulletins.html",
            bulletins=rows,
            zones=all_zones,
            engines=ENGINES,
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
        slots = list(
            session.scalars(
                select(Slot)
                .join(SlotItem, SlotItem.slot_id == Slot.id)
                .where(SlotItem.bulletin_id == bulletin_id, Slot.active.is_(True))
                .order_by(Slot.id)
                .distinct()
            )
        )
        plays = list(
            session.scalars(select(Play).where(Play.bulletin_id == bulletin_id).order_by(Play.id.desc()))
        )
        unknown = bulletins.unknown_terms(session, bulletin)
    return page(
        request,
        station,
        user,
        "bulletin.html",
        b=bulletin,
        clip=clip,
        slots=slots,
        plays=plays,
        weekdays=WEEKDAYS,
        unknown=unknown,
        can_approve=domain.can_approve(user.role),
        can_air=domain.can_air(bulletin.status),
        **extra,
    )


@router.get("/bulletins/{bulletin_id}", response_class=HTMLResponse)
def bulletin_detail(
    request: Request, bulletin_id: int, station: StationDep, user: OptionalUserDep
) -> Response:
    if user is None:
        return login_redirect()
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
        return login_redirect()
    check_csrf(request, station, csrf_token)
    try:
        with station.db.session() as session:
            bulletins.approve_bulletin(session, user, bulletin_id, address)
    except domain.DomainError as exc:
        return _detail(request, station, user, bulletin_id, error=str(exc), code=exc.status_code)
    station.refresh_programme()
    return RedirectResponse(f"/bulletins/{bulletin_id}", status_code=303)


@router.post("/bulletins/{bulletin_id}/render", response_class=HTMLResponse)
def bulletin_render(
    request: Request,
    bulletin_id: int,
    station: StationDep,
    user: OptionalUserDep,
    address: AddressDep,
    csrf_token: Annotated[str, Form()],
) -> Response:
    if user is None:
        return login_redirect()
    check_csrf(request, station, csrf_token)
    try:
        with station.db.session() as session:
            bulletins.rerender_bulletin(session, station.clips, station.settings, user, bulletin_id, address)
    except (domain.DomainError, TtsError, AudioError) as exc:
        return _detail(request, station, user, bulletin_id, error=str(exc), code=422)
    station.refresh_programme()
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
        return login_redirect()
    check_csrf(request, station, csrf_token)
    once = mode == "once"
    slot_request = programme.SlotRequest(
        zones=[],
        start_at=start_at if once else None,
        daily_at=None if once else daily_at,
        days=None if once else days,
        items=[programme.ItemRequest(bulletin_id=bulletin_id)],
    )
    try:
        with station.db.session() as session:
            slot, _ = programme.create_slot(
                session, station.scheduler, station.rules(), user, slot_request, address
            )
    except domain.DomainError as exc:
        return _detail(request, station, user, bulletin_id, error=str(exc), code=exc.status_code)
    station.refresh_programme(slot.zones)
    return RedirectResponse(f"/bulletins/{bulletin_id}?scheduled=1", status_code=303)
