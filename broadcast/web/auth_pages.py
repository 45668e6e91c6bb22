"""Log in and out."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from broadcast import accounts, audit
from broadcast.api.deps import SESSION_COOKIE, AddressDep, OptionalUserDep, StationDep
from broadcast.web.pages import CsrfChecked, login_redirect, page

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(user: OptionalUserDep) -> RedirectResponse:
    return RedirectResponse("/bulletins" if user else "/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, station: StationDep, user: OptionalUserDep) -> Response:
    return page(request, station, user, "login.html")


@router.post("/login")
def login(
    request: Request,
    station: StationDep,
    address: AddressDep,
    name: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> Response:
    wait = station.login_throttle.retry_after(address, name)
    if wait > 0:
        message = f"Đăng nhập sai quá nhiều lần. Hãy thử lại sau {wait / 60:.0f} phút."
        return page(request, station, None, "login.html", error=message, code=429, form={"name": name})
    with station.db.session() as session:
        principal = accounts.authenticate(session, name, password)
        if principal is None:
            station.login_throttle.failed(address, name)
            audit.record(session, name[:64], "login.failed", "", address)
            error = "Sai tên đăng nhập hoặc mật khẩu."
            form = {"name": name}  # the officer retypes only the password
            return page(request, station, None, "login.html", error=error, code=401, form=form)
        station.login_throttle.succeeded(address, name)
        audit.record(session, principal.name, "login", "", address)
        days = station.settings.session_days
        secret = accounts.issue_token(session, principal.name, "session", timedelta(days=days))
    response = RedirectResponse("/bulletins", status_code=303)
    secure = station.public_url.startswith("https://")
    response.set_cookie(
        SESSION_COOKIE, secret, max_age=days * 86400, httponly=True, samesite="lax", secure=secure
    )
    return response


@router.post("/logout")
def logout(
    request: Request,
    station: StationDep,
    user: OptionalUserDep,
    address: AddressDep,
    _csrf: CsrfChecked,
) -> Response:
    with station.db.session() as session:
        accounts.revoke_token(session, request.cookies.get(SESSION_COOKIE, ""))
        if user is not None:
            audit.record(session, user.name, "logout", f"user:{user.name}", address)
    response = login_redirect()
    response.delete_cookie(SESSION_COOKIE)
    return response
