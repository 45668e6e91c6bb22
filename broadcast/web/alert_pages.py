"""The emergency page: a deliberate two-step send, a live "X / Y loa đã phát", and a fast cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from broadcast import alerts, domain, tenancy
from broadcast.accounts import Principal
from broadcast.alert_templates import PHRASES
from broadcast.api.deps import AddressDep, StationDep
from broadcast.audio import AudioError
from broadcast.tts import TtsError
from broadcast.web.pages import CsrfChecked, PageUser, page

router = APIRouter(include_in_schema=False)


def _emergency(request: Request, station: StationDep, user: Principal, **extra: object) -> Response:
    with station.db.session() as session:
        zones = tenancy.visible_zones(session, user)
        recent = alerts.list_alerts(session, user, limit=10)
        for alert in recent:
            alerts.get_alert(session, alert.id)  # marks expired ones
    return page(
        request, station, user, "emergency.html", zones=zones, recent=recent, phrases=PHRASES,
        two_person=station.settings.alert_two_person, form=extra.pop("form", {}), **extra,
    )  # fmt: skip


@router.get("/emergency", response_class=HTMLResponse)
def emergency_page(request: Request, station: StationDep, user: PageUser) -> Response:
    return _emergency(request, station, user)


@router.post("/emergency", response_class=HTMLResponse)
def emergency_send(
    request: Request,
    station: StationDep,
    user: PageUser,
    address: AddressDep,
    _csrf: CsrfChecked,
    text: Annotated[str, Form()] = "",
    zones: Annotated[list[str] | None, Form()] = None,
    repeat: Annotated[int, Form()] = 3,
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """First post shows what will happen; only the second (confirm=yes) sends: no one-click alerts."""
    form = {"text": text, "zones": zones or [], "repeat": repeat}
    if confirm != "yes":
        if not text.strip():
            return _emergency(
                request, station, user, error="Hãy nhập nội dung cảnh báo.", form=form, code=422
            )
        return _emergency(request, station, user, form=form, confirming=True)
    chosen = zones or None  # nothing ticked: every zone
    alert_request = alerts.AlertRequest(text=text, zones=chosen, repeat=repeat, source="web")
    try:
        with station.db.session() as session:
            alert = alerts.raise_alert(session, station.alert_deps(), user, alert_request, address)
            alert_id = alert.id
    except (domain.DomainError, TtsError, AudioError) as exc:
        code = exc.status_code if isinstance(exc, domain.DomainError) else 422
        return _emergency(request, station, user, error=str(exc), form=form, code=code)
    return RedirectResponse(f"/emergency/{alert_id}", status_code=303)


@router.get("/emergency/{alert_id}", response_class=HTMLResponse)
def alert_status(request: Request, alert_id: int, station: StationDep, user: PageUser) -> Response:
    with station.db.session() as session:
        alert = alerts.get_alert(session, alert_id, user)
        seen = alerts.delivery(session, alert, user)
    return page(request, station, user, "alert.html", alert=alert, seen=seen)


@router.post("/emergency/{alert_id}/{action}", response_class=HTMLResponse)
def alert_action(
    request: Request,
    alert_id: int,
    action: str,
    station: StationDep,
    user: PageUser,
    address: AddressDep,
    _csrf: CsrfChecked,
) -> Response:
    """Confirm (second approver) or cancel an alert."""
    try:
        with station.db.session() as session:
            if action == "confirm":
                alerts.confirm_alert(session, station.alert_deps(), user, alert_id, address)
            elif action == "cancel":
                alerts.cancel_alert(session, station.alert_deps(), user, alert_id, True, address)
            else:
                raise domain.NotFound("Thao tác không tồn tại.")
    except domain.DomainError as exc:
        return _emergency(request, station, user, error=str(exc), code=exc.status_code)
    return RedirectResponse(f"/emergency/{alert_id}", status_code=303)
