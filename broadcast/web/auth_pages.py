"""Log in and out.

A login attempt is checked in this order, cheapest first: a browser posting from another site, or without
the login form's own token, is refused (login CSRF); then the attempt limits (people/login_guard.py);
only then is the password hashed, on a bounded lane of its own that answers 503 at once when full
(broadcast/limits/lanes.py). The whole route is async: a flood never takes a thread of the anyio pool.
"""

from __future__ import annotations

import logging
import math
import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from broadcast.http.deps import SESSION_COOKIE, AddressDep, OptionalUserDep, StationDep, from_another_site
from broadcast.limits.lanes import LaneFull
from broadcast.people import accounts, audit, login_guard
from broadcast.station import Station
from broadcast.web import csrf
from broadcast.web.pages import CsrfChecked, login_redirect, page

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)

LOGIN_COOKIE = "loa_login"  # the pre-session seed the login form's token is bound to
CROSS_SITE = "Yêu cầu đăng nhập đến từ trang web khác, không được chấp nhận."
STALE_FORM = "Trang đăng nhập đã cũ hoặc không hợp lệ. Hãy tải lại trang rồi đăng nhập lại."
TOO_MANY = "Có quá nhiều lần đăng nhập trong thời gian ngắn. Vui lòng thử lại sau {seconds} giây."
BUSY = "Hệ thống đang bận kiểm tra đăng nhập. Vui lòng thử lại sau vài giây."


def _form_token(station: Station, seed: str) -> str:
    return csrf.token_for(station.keys.web_secret(), f"login:{seed}")


def _form_token_ok(request: Request, station: Station, token: str) -> bool:
    seed = request.cookies.get(LOGIN_COOKIE, "")
    return bool(seed) and csrf.is_valid(station.keys.web_secret(), f"login:{seed}", token)


def _looks_like_browser(request: Request) -> bool:
    """True for a browser (the only client login CSRF can use); scripts and tests send none of these."""
    headers = request.headers
    if any(name in headers for name in ("origin", "sec-fetch-site", "referer")):
        return True
    return headers.get("user-agent", "").startswith("Mozilla/")


def _login_page(
    request: Request,
    station: Station,
    code: int = 200,
    error: str = "",
    name: str = "",
    retry: float = 0.0,
    user: accounts.Principal | None = None,
) -> Response:
    """Render the login form with its token, giving the browser a seed cookie if it has none."""
    seed = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(16)
    response = page(
        request, station, user, "login.html", error=error or None, code=code, form={"name": name},
        login_csrf=_form_token(station, seed),
    )  # fmt: skip
    if request.cookies.get(LOGIN_COOKIE) != seed:
        secure = station.public_url.startswith("https://")
        response.set_cookie(
            LOGIN_COOKIE, seed, httponly=True, samesite="strict", path="/login", secure=secure
        )
    if retry > 0:
        response.headers["Retry-After"] = str(max(1, math.ceil(retry)))
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, station: StationDep, user: OptionalUserDep) -> Response:
    return _login_page(request, station, user=user)


@router.post("/login")
async def login(
    request: Request,
    station: StationDep,
    address: AddressDep,
    name: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    if from_another_site(request, station.public_url):
        return _login_page(request, station, 403, CROSS_SITE)
    if _looks_like_browser(request) and not _form_token_ok(request, station, csrf_token):
        return _login_page(request, station, 403, STALE_FORM)
    secret = station.keys.web_secret()
    device = login_guard.device_for(secret, request.cookies.get(login_guard.DEVICE_COOKIE, ""), name)
    admission = station.login_guard.admit(address, device)
    if not admission.allowed:
        if admission.new_streak:
            await _flood_began(station, address, admission)
        text = TOO_MANY.format(seconds=max(1, math.ceil(admission.retry_after_s)))
        return _login_page(request, station, 429, text, name, admission.retry_after_s)
    if device is None and (wait := station.login_throttle.retry_after(address, name)) > 0:
        text = f"Đăng nhập sai quá nhiều lần. Hãy thử lại sau {wait / 60:.0f} phút."
        return _login_page(request, station, 429, text, name, wait)
    lane = station.lanes.strangers if device is None else station.lanes.trusted
    try:
        session_secret = await lane.run(lambda: _check(station, name, password, address))
    except LaneFull:
        return _login_page(request, station, 503, BUSY, name, 2.0)
    if session_secret is None:
        station.login_guard.failed(device)
        if device is None:
            station.login_throttle.failed(address, name)
        # The officer retypes only the password.
        return _login_page(request, station, 401, "Sai tên đăng nhập hoặc mật khẩu.", name)
    station.login_guard.succeeded(device)
    station.login_throttle.succeeded(address, name)
    return _signed_in(request, station, name, session_secret)


def _check(station: Station, name: str, password: str, address: str) -> str | None:
    """Check the password (argon2id, on a hashing lane) and open a session; None if refused."""
    with station.db.session() as session:
        principal = accounts.authenticate(session, name, password)
        if principal is None:
            audit.record(session, name[:64], "login.failed", "", address)
            return None
        audit.record(session, principal.name, "login", "", address)
        days = station.settings.session_days
        return accounts.issue_token(session, principal.name, "session", timedelta(days=days))


def _signed_in(request: Request, station: Station, name: str, session_secret: str) -> Response:
    """Redirect to the desk with the session cookie and a device cookie that vouches for this browser."""
    response = RedirectResponse("/", status_code=303)
    secure = station.public_url.startswith("https://")
    days = station.settings.session_days
    response.set_cookie(
        SESSION_COOKIE, session_secret, max_age=days * 86400, httponly=True, samesite="lax", secure=secure
    )
    known = login_guard.remember(
        station.keys.web_secret(), request.cookies.get(login_guard.DEVICE_COOKIE, ""), name
    )
    response.set_cookie(
        login_guard.DEVICE_COOKIE, known, max_age=login_guard.DEVICE_COOKIE_DAYS * 86400, httponly=True,
        samesite="strict", path="/login", secure=secure,
    )  # fmt: skip
    return response


async def _flood_began(station: Station, address: str, admission: login_guard.Admission) -> None:
    """Log and audit the first refusal of a flood once; the rest of the streak is only counted."""
    log.warning(
        "login flood: refusing attempts (%s limit, first from %s; %d refused so far)",
        admission.limit, address, station.login_guard.refused,
    )  # fmt: skip

    def record() -> None:
        with station.db.session() as session:
            audit.record(session, "", "login.flood", "", address, limit=admission.limit)

    await run_in_threadpool(record)


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
