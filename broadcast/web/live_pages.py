"""The live page: an approver speaks into the browser's microphone and the loudspeakers carry the voice.

The page asks `station.live` (None when the live engine is off or snapserver is missing; `live_reason`
says why) to start and stop sessions; the audio itself goes over the WebSocket the session names
(`LiveView.ws_path`, served by api/live.py). static/live.js drives it; static/capture.js is the microphone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from broadcast import domain
from broadcast.http import https
from broadcast.http.deps import AddressDep, StationDep, UserDep
from broadcast.live import LiveService
from broadcast.people import tenancy
from broadcast.people.accounts import Principal
from broadcast.station import Station
from broadcast.web.pages import PageRefused, PageUser, check_csrf, page

router = APIRouter(include_in_schema=False)
EVERY_ZONE = "*"  # the form's explicit "Mọi vùng" choice
RECENT = 10  # past live sessions listed on the page
STOP_REASON = "stopped"  # the officer's "Dừng phát" (an end reason code of broadcast.live.records)
UNAVAILABLE = "Chức năng phát trực tiếp chưa sẵn sàng trên trạm này."
NO_ZONE = "Hãy chọn ít nhất một vùng phát, hoặc «Mọi vùng»."
ONLY_APPROVERS = "Chỉ người duyệt tin và quản trị viên được phát trực tiếp."


def chosen_zones(values: Sequence[str] | None) -> list[str] | None:
    """Return the zones ticked, None for "Mọi vùng" (it wins over single zones); refuse no choice at all."""
    picked = [value.strip() for value in values or () if value.strip()]
    if EVERY_ZONE in picked:
        return None
    if not picked:
        raise domain.Invalid(NO_ZONE)
    return list(dict.fromkeys(picked))


class LiveUnavailable(domain.DomainError):
    """Live broadcasting is off or its engine did not start (the message says which)."""

    status_code = 409  # the station works; it is set up without live broadcasts


def live_service(station: Station) -> LiveService:
    """Return the station's live service, or refuse with why live broadcasting is off."""
    if station.live is None:
        raise LiveUnavailable(station.live_reason or UNAVAILABLE)
    return station.live


def _approver_page(request: Request, station: StationDep, user: PageUser) -> Principal:
    """The caller if an approver or admin; an editor gets the 403 page."""
    if not domain.can_approve(user.role):
        raise PageRefused(page(request, station, user, "live.html", forbidden=True, code=403))
    return user


def _approver_json(user: UserDep) -> Principal:
    """The caller of a live POST if an approver or admin; refusals are JSON `{"detail": ...}`."""
    if not domain.can_approve(user.role):
        raise domain.Forbidden(ONLY_APPROVERS)
    return user


PageApprover = Annotated[Principal, Depends(_approver_page)]
JsonApprover = Annotated[Principal, Depends(_approver_json)]


@router.get("/live", response_class=HTMLResponse)
def live_page(request: Request, station: StationDep, user: PageApprover) -> Response:
    with station.db.session() as session:
        zones = tenancy.visible_zones(session, user)
        recent = station.live.recent(session, user, RECENT) if station.live else []
    return page(
        request,
        station,
        user,
        "live.html",
        zones=zones,
        recent=recent,
        live_available=station.live is not None,
        live_reason=station.live_reason or UNAVAILABLE,
        https_url=https.https_url(station.settings, request),
        every_zone=EVERY_ZONE,
    )


@router.post("/live/start")
def live_start(
    request: Request,
    station: StationDep,
    user: JsonApprover,
    address: AddressDep,
    csrf_token: Annotated[str, Form()] = "",
    zones: Annotated[list[str] | None, Form()] = None,
    title: Annotated[str, Form()] = "",
) -> Response:
    """Open a live session; the browser then streams its microphone to the returned WebSocket.

    Refusals (LiveRefused is a DomainError) are answered as JSON by the app's DomainError handler.
    """
    check_csrf(request, station, csrf_token)
    chosen = chosen_zones(zones)
    live = live_service(station)
    with station.db.session() as session:
        view = live.start(session, user, chosen, title, address)
    return JSONResponse({"id": view.id, "ws": view.ws_path, "state": view.status})


@router.post("/live/{session_id}/stop")
def live_stop(
    request: Request,
    session_id: str,
    station: StationDep,
    user: JsonApprover,
    address: AddressDep,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """End a live session (the officer's "Dừng phát"); the page then closes its socket."""
    check_csrf(request, station, csrf_token)
    live = live_service(station)
    with station.db.session() as session:
        view = live.stop(session, user, session_id, STOP_REASON, address)
    return JSONResponse({"id": view.id, "state": view.status, "reason": view.end_label or None})
