"""Request dependencies: the station, the caller, and their Annotated aliases."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, HTTPException, Request, status

from broadcast import accounts
from broadcast.accounts import Principal
from broadcast.station import Station

SESSION_COOKIE = "loa_session"


def get_station(request: Request) -> Station:
    return cast(Station, request.app.state.station)


StationDep = Annotated[Station, Depends(get_station)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


AddressDep = Annotated[str, Depends(client_address)]


def optional_principal(request: Request, station: StationDep) -> Principal | None:
    """Return the caller from a bearer token or a session cookie, or None."""
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    with station.db.session() as session:
        if scheme.lower() == "bearer" and secret:
            return accounts.principal_for_token(session, secret.strip(), "api")
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            return accounts.principal_for_token(session, cookie, "session")
    return None


def require_principal(principal: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
    """Return the caller or answer 401."""
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="Cần đăng nhập (thiếu hoặc sai mã truy cập).",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


UserDep = Annotated[Principal, Depends(require_principal)]
OptionalUserDep = Annotated[Principal | None, Depends(optional_principal)]
