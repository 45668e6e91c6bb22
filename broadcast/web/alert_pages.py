"""The emergency page: a deliberate two-step send, a live "X / Y loa đã phát", and a fast cancel.

Every handler (and its caller lookup) runs on the station's alert threads, not in the anyio pool.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from broadcast import alerts, domain
from broadcast.alerts import delivery as alert_delivery
from broadcast.alerts import lifecycle
from broadcast.alerts import views as alert_views
from broadcast.alerts.templates import PHRASES
from broadcast.http.deps import AddressDep, LaneOptionalUserDep, StationDep
from broadcast.people import tenancy
from broadcast.people.accounts import Principal
from broadcast.web.forms import SPEECH, shown_again
from broadcast.web.pages import PageRefused, check_csrf, login_redirect, page

router = APIRouter(include_in_schema=False)


async def _lane_user(user: LaneOptionalUserDep) -> Principal:
    """The signed-in caller (looked up on an alert thread), or the login page."""
    if user is None:
        raise PageRefused(login_redirect())
    return user


async def _lane_csrf(request: Request, station: StationDep, csrf_token: Annotated[str, Form()]) -> None:
    check_csrf(request, station, csrf_token)  # an HMAC and a 32-byte read: no thread needed


PageUser = Annotated[Principal, Depends(_lane_user)]
CsrfChecked = Annotated[None, Depends(_lane_csrf)]


def _emergency(request: Request, station: StationDep, user: Principal, **extra: object) -> Response:
    with station.db.session() as session:
        zones = tenancy.visible_zones(session, user)
        recent = alerts.list_alerts(session, user, limit=10)
        for alert in recent:
            alerts.get_alert(session, alert.id)  # marks expired ones
        states = alert_views.states_of(session, recent)
    return page(
        request, station, user, "emergency.html", zones=zones, recent=recent, states=states, phrases=PHRASES,
        two_person=station.settings.alert_two_person, form=extra.pop("form", {}), short=lifecycle.short_text,
        **extra,
    )  # fmt: skip


@router.get("/emergency", response_class=HTMLResponse)
async def emergency_page(request: Request, station: StationDep, user: PageUser) -> Response:
    return await station.lanes.alerts.run(lambda: _emergency(request, station, user))


@router.post("/emergency", response_class=HTMLResponse)
async def emergency_send(
    request: Request,
    station: StationDep,
    user: PageUser,
    address: AddressDep,
    _csrf: CsrfChecked,
    text: Annotated[str, Form()] = "",
    zones: Annotated[list[str] | None, Form()] = None,
    repeat: Annotated[int, Form()] = 3,
    confirm: Annotated[str, Form()] = "",
    all_zones: Annotated[str, Form()] = "",
    test: Annotated[str, Form()] = "",
) -> Response:
    """First post shows what will happen; only the second (confirm=yes) sends: no one-click alerts."""
    typed = _Typed(text, zones or [], repeat, confirm == "yes", all_zones == "yes", test == "yes")
    return await station.lanes.alerts.run(lambda: _send(request, station, user, address, typed))


@dataclass(frozen=True)
class _Typed:
    text: str
    zones: list[str]
    repeat: int
    confirm: bool
    every_zone: bool  # "Mọi vùng" ticked: an explicit choice, never what an empty selection means
    test: bool  # "Báo động thử": a drill


def _send(request: Request, station: StationDep, user: Principal, address: str, typed: _Typed) -> Response:
    text, zones, repeat = typed.text, typed.zones, typed.repeat
    form = {"text": text, "zones": zones, "repeat": repeat, "all_zones": typed.every_zone, "test": typed.test}
    refusal = _refusal(typed)
    if refusal:
        return _emergency(request, station, user, error=refusal, form=form, code=422)
    if not typed.confirm:
        return _emergency(request, station, user, form=form, confirming=True)
    chosen = None if typed.every_zone else zones  # None: every zone of the officer's
    alert_request = alerts.AlertRequest(text=text, zones=chosen, repeat=repeat, source="web", test=typed.test)
    again = partial(_emergency, request, station, user, form=form)
    with shown_again(again, SPEECH), station.db.session() as session:
        alert = alerts.raise_alert(session, station.alert_deps(), user, alert_request, address)
        alert_id = alert.id
    return RedirectResponse(f"/emergency/{alert_id}", status_code=303)


def _refusal(typed: _Typed) -> str:
    """Return why the form cannot go on ("" if it can): no text, or no zone chosen."""
    if not typed.text.strip():
        return "Hãy nhập nội dung cảnh báo."
    if not typed.zones and not typed.every_zone:
        return "Hãy chọn ít nhất một vùng phát, hoặc chọn «Mọi vùng»."
    return ""


@router.get("/alerts/{alert_id}", include_in_schema=False)
async def alert_short_link(alert_id: int) -> Response:
    """Send /alerts/{id} (how lists link an alert) to the alert's page."""
    return RedirectResponse(f"/emergency/{alert_id}", status_code=307)


@router.get("/emergency/{alert_id}", response_class=HTMLResponse)
async def alert_status(request: Request, alert_id: int, station: StationDep, user: PageUser) -> Response:
    return await station.lanes.alerts.run(lambda: _status(request, alert_id, station, user))


def _status(request: Request, alert_id: int, station: StationDep, user: Principal) -> Response:
    with station.db.session() as session:
        alert = alerts.get_alert(session, alert_id, user)
        seen = alert_delivery.delivery(session, alert, user)
        state = alert_views.state_of(session, alert)
    return page(
        request, station, user, "alert.html", alert=alert, seen=seen, state=state, short=lifecycle.short_text
    )


@router.post("/emergency/{alert_id}/{action}", response_class=HTMLResponse)
async def alert_action(
    request: Request,
    alert_id: int,
    action: str,
    station: StationDep,
    user: PageUser,
    address: AddressDep,
    _csrf: CsrfChecked,
) -> Response:
    """Confirm (second approver) or cancel an alert, or confirm the spoken correction of a cancel."""
    return await station.lanes.alerts.run(lambda: _act(request, alert_id, action, station, user, address))


def _act(
    request: Request, alert_id: int, action: str, station: StationDep, user: Principal, address: str
) -> Response:
    with shown_again(partial(_emergency, request, station, user)), station.db.session() as session:
        if action == "confirm":
            alerts.confirm_alert(session, station.alert_deps(), user, alert_id, address)
        elif action == "cancel":
            alerts.cancel_alert(session, station.alert_deps(), user, alert_id, True, address)
        elif action == "correction":
            alerts.confirm_correction(session, station.alert_deps(), user, alert_id, address)
        else:
            raise domain.NotFound("Thao tác không tồn tại.")
    return RedirectResponse(f"/emergency/{alert_id}", status_code=303)
