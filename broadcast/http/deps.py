"""Request dependencies: the station, the caller, and their Annotated aliases.

The trivial ones are async so they never take a thread; the caller of an alert route is looked up on the
station's alert threads (AlertUserDep), so a saturated anyio pool cannot delay an emergency.
"""

from __future__ import annotations

from typing import Annotated, cast
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request, status

from broadcast.people import accounts
from broadcast.people.accounts import Principal
from broadcast.station import Station

SESSION_COOKIE = "loa_session"


async def get_station(request: Request) -> Station:
    return cast(Station, request.app.state.station)


StationDep = Annotated[Station, Depends(get_station)]


async def client_address(request: Request) -> str:
    """Return the caller's address (a trusted proxy's X-Forwarded-For is applied by the proxy middleware)."""
    return request.client.host if request.client else ""


AddressDep = Annotated[str, Depends(client_address)]


def optional_principal(request: Request, station: StationDep) -> Principal | None:
    """Return the caller from a bearer token or a session cookie, or None."""
    return principal_of(request, station)


def principal_of(request: Request, station: Station) -> Principal | None:
    """Look the caller's token or session up (blocking: call it on a worker thread)."""
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    with station.db.session() as session:
        if scheme.lower() == "bearer" and secret:
            return accounts.principal_for_token(session, secret.strip(), "api")
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            if request.method not in SAFE_METHODS and from_another_site(request, station.public_url):
                raise HTTPException(
                    status.HTTP_403_FORBIDDEN,
                    detail="Yêu cầu đến từ trang web khác, không được chấp nhận.",
                )
            return accounts.principal_for_token(session, cookie, "session")
    return None


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def from_another_site(request: Request, public_url: str) -> bool:
    """True if a browser says this cookie-carrying write came from another site (CSRF defence in depth).

    The session cookie is SameSite=Lax and forms carry a CSRF token; this also covers JSON routes a page
    calls with fetch(). Clients that send neither header (scripts, agents) are not browsers and pass.
    """
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin == "null"
    allowed = {_origin(str(request.base_url)), _origin(public_url)}
    return origin.lower().rstrip("/") not in allowed


def require_principal(principal: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
    """Return the caller or answer 401."""
    return _required(principal)


async def lane_principal(request: Request, station: StationDep) -> Principal | None:
    """Return the caller, or None, looked up on the station's alert threads."""
    return await station.lanes.alerts.run(lambda: principal_of(request, station))


async def require_lane_principal(
    principal: Annotated[Principal | None, Depends(lane_principal)],
) -> Principal:
    """Return the caller of an alert route or answer 401."""
    return _required(principal)


def _required(principal: Principal | None) -> Principal:
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="Cần đăng nhập (thiếu hoặc sai mã truy cập).",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


UserDep = Annotated[Principal, Depends(require_principal)]
OptionalUserDep = Annotated[Principal | None, Depends(optional_principal)]
AlertUserDep = Annotated[Principal, Depends(require_lane_principal)]
LaneOptionalUserDep = Annotated[Principal | None, Depends(lane_principal)]
