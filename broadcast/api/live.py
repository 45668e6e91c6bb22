"""Live broadcast routes: start, stop, look up sessions, and the officer's audio socket.

The audio socket takes binary messages of mono 16-bit little-endian PCM at 16 kHz (20–100 ms each) and
answers with JSON state messages (`state`, `devices`, `elapsed_s`, `reason`) twice a second. A browser
authenticates it with its session cookie (the Origin must be this station's: a page of another site
cannot open it with the officer's cookie); a desk microphone app with a bearer token.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from urllib.parse import urlsplit

import anyio
from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect, status
from pydantic import BaseModel, ConfigDict, Field
from starlette.websockets import WebSocketState

from broadcast.http.deps import SESSION_COOKIE, AddressDep, StationDep, UserDep
from broadcast.live import LiveRefused, LiveService, LiveView
from broadcast.live.on_air import OnAir
from broadcast.people import accounts
from broadcast.people.accounts import Principal
from broadcast.station import Station

router = APIRouter(prefix="/api/live", tags=["live"])

_STATE_EVERY_S = 0.5
_CLOSE_POLICY = 1008  # WebSocket "policy violation": not allowed


class LiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    zones: list[str] | None = Field(None, description="Bỏ trống = mọi cụm loa của xã")
    title: str = Field("", max_length=200, description="Tên buổi phát (không bắt buộc)")


class StopIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field("stopped", description="stopped")


class LiveOut(BaseModel):
    """A live session as `records.LiveView` has it (read from its attributes)."""

    model_config = ConfigDict(from_attributes=True)
    id: str
    status: str
    status_label: str
    title: str
    zones: list[str]
    started_by: str
    started_at: datetime
    on_air_at: datetime | None
    ended_at: datetime | None
    end_reason: str
    end_label: str
    devices_joined: int
    devices: list[str] = Field(description="the loudspeakers that reported playing the session")
    audio_s: float
    audio_url: str = Field(description="the session's recording, once it ended")
    ws_path: str = Field(description="the officer's audio socket")

    @classmethod
    def of(cls, view: LiveView) -> LiveOut:
        return cls.model_validate(view)


def service(station: Station) -> LiveService:
    if station.live is None:
        # 409, not 503: the station is up and answering; it is set up without live broadcasts.
        raise HTTPException(status.HTTP_409_CONFLICT, detail=station.live_reason)
    return station.live


def _refused(exc: LiveRefused) -> HTTPException:
    return HTTPException(exc.status_code, detail=exc.message)


@router.post("", status_code=status.HTTP_201_CREATED)
def start_live(body: LiveIn, station: StationDep, user: UserDep, address: AddressDep) -> LiveOut:
    """Go live to the zones (approver, admin): their loudspeakers join, a chime plays, then the voice."""
    live = service(station)
    with station.db.session() as session:
        try:
            return LiveOut.of(live.start(session, user, body.zones, body.title, address))
        except LiveRefused as exc:
            raise _refused(exc) from exc


@router.post("/{session_id}/stop")
def stop_live(
    session_id: str, station: StationDep, user: UserDep, address: AddressDep, body: StopIn | None = None
) -> LiveOut:
    live = service(station)
    with station.db.session() as session:
        try:
            return LiveOut.of(live.stop(session, user, session_id, "stopped", address))
        except LiveRefused as exc:
            raise _refused(exc) from exc


@router.get("")
def list_live(station: StationDep, user: UserDep, limit: int = 20) -> list[LiveOut]:
    live = service(station)
    with station.db.session() as session:
        return [LiveOut.of(view) for view in live.recent(session, user, min(max(limit, 1), 200))]


@router.get("/{session_id}")
def get_live(session_id: str, station: StationDep, user: UserDep) -> LiveOut:
    from broadcast.live import records

    with station.db.session() as session:
        return LiveOut.of(records.view(session, records.get(session, session_id, user)))


def _socket_principal(websocket: WebSocket, station: Station) -> Principal | None:
    """Return the caller of the audio socket from a bearer token or (same-site only) a session cookie."""
    scheme, _, secret = websocket.headers.get("authorization", "").partition(" ")
    with station.db.session() as session:
        if scheme.lower() == "bearer" and secret:
            return accounts.principal_for_token(session, secret.strip(), "api")
        cookie = websocket.cookies.get(SESSION_COOKIE)
        if cookie and _same_origin(websocket):
            return accounts.principal_for_token(session, cookie, "session")
    return None


def _same_origin(websocket: WebSocket) -> bool:
    """True if the browser opened the socket from a page of this station (same host and port).

    Browsers always send Origin on a WebSocket handshake and the cookie rides along from any site, so
    this check is what stops another site's page from speaking through an officer's session.
    """
    origin = urlsplit(websocket.headers.get("origin", ""))
    return (
        origin.scheme in ("http", "https")
        and origin.netloc.lower() == websocket.headers.get("host", "").lower()
    )


@router.websocket("/{session_id}/audio")
async def live_audio(websocket: WebSocket, session_id: str) -> None:
    station: Station = websocket.app.state.station
    user = await anyio.to_thread.run_sync(_socket_principal, websocket, station)
    if user is None or station.live is None:
        await websocket.close(code=_CLOSE_POLICY, reason="not allowed")
        return
    live = station.live
    try:
        on_air = await anyio.to_thread.run_sync(live.attach, session_id, user)
    except LiveRefused as exc:
        await websocket.close(code=_CLOSE_POLICY, reason=exc.message[:120])
        return
    await websocket.accept()
    reporter = asyncio.create_task(_report_state(websocket, live, session_id))
    ended_by_close = "dropped"
    try:
        while on_air.state != "ended":
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                ended_by_close = "stopped" if message.get("code") == 1000 else "dropped"
                break
            data = message.get("bytes")
            if data:
                _feed(on_air, data)
    except WebSocketDisconnect as exc:
        ended_by_close = "stopped" if exc.code == 1000 else "dropped"
    finally:
        reporter.cancel()
        if on_air.state != "ended":
            await anyio.to_thread.run_sync(live.end, session_id, ended_by_close, user.name)
        if websocket.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await _send_state(websocket, live, session_id)
                await websocket.close(code=1000)


def _feed(on_air: OnAir, data: bytes) -> None:
    with contextlib.suppress(ValueError):  # a malformed message is dropped, the broadcast goes on
        on_air.feed(data)


async def _report_state(websocket: WebSocket, live: LiveService, session_id: str) -> None:
    with contextlib.suppress(Exception):
        while True:
            await _send_state(websocket, live, session_id)
            await asyncio.sleep(_STATE_EVERY_S)


async def _send_state(websocket: WebSocket, live: LiveService, session_id: str) -> None:
    state, devices, elapsed, reason = await anyio.to_thread.run_sync(live.state, session_id)
    await websocket.send_json(
        {"state": state, "devices": devices, "elapsed_s": round(elapsed, 1), "reason": reason or None}
    )
