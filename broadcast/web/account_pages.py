"""The caller's account page: live sessions and tokens, log out everywhere, change password."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from broadcast import domain
from broadcast.http.deps import SESSION_COOKIE, AddressDep, StationDep
from broadcast.people import accounts
from broadcast.people import credentials as account_admin
from broadcast.people.accounts import Principal
from broadcast.web.forms import shown_again
from broadcast.web.pages import CsrfChecked, PageUser, login_redirect, page

router = APIRouter(include_in_schema=False)


class TooManyAttempts(domain.DomainError):
    status_code = 429


def _session_id(session: Session, request: Request) -> int | None:
    """Return the id of this browser's session row."""
    cookie = request.cookies.get(SESSION_COOKIE, "")
    token = accounts.find_token(session, cookie) if cookie else None
    return token.id if token is not None else None


def _account(request: Request, station: StationDep, user: Principal, **extra: Any) -> Response:
    with station.db.session() as session:
        tokens = account_admin.list_tokens(session, user, user.name)
        current = _session_id(session, request)
    return page(
        request,
        station,
        user,
        "account.html",
        tokens=tokens,
        current_id=current,
        kind_labels=account_admin.KIND_LABELS,
        min_password=domain.MIN_PASSWORD_CHARS,
        **extra,
    )


def _signed_out() -> Response:
    response = login_redirect()
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, station: StationDep, user: PageUser) -> Response:
    return _account(request, station, user)


@router.post("/account/logout-all")
def logout_everywhere(
    request: Request,
    station: StationDep,
    user: PageUser,
    address: AddressDep,
    _csrf: CsrfChecked,
) -> Response:
    """Sign this account out on every browser and revoke its API tokens (this browser too)."""
    with station.db.session() as session:
        account_admin.logout_everywhere(session, user, user.name, user.name, address)
    return _signed_out()


@router.post("/account/tokens/{token_id}/revoke")
def revoke_one(
    request: Request,
    token_id: int,
    station: StationDep,
    user: PageUser,
    address: AddressDep,
    _csrf: CsrfChecked,
) -> Response:
    with shown_again(partial(_account, request, station, user)), station.db.session() as session:
        current = _session_id(session, request)
        account_admin.revoke(session, user, user.name, token_id, address)
    if current == token_id:
        return _signed_out()
    return RedirectResponse("/account", status_code=303)


@router.post("/account/password", response_class=HTMLResponse)
def change_password(
    request: Request,
    station: StationDep,
    user: PageUser,
    address: AddressDep,
    _csrf: CsrfChecked,
    current: Annotated[str, Form()] = "",
    new: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """Change the password; every other session and token of the account stops working."""
    throttle = station.login_throttle  # a wrong current password counts as a failed login
    with shown_again(partial(_account, request, station, user)):
        if throttle.retry_after(address, user.name) > 0:
            raise TooManyAttempts("Nhập sai mật khẩu quá nhiều lần. Hãy thử lại sau ít phút.")
        if new != confirm:
            raise domain.Invalid("Hai lần nhập mật khẩu mới không khớp.")
        try:
            with station.db.session() as session:
                revoked = account_admin.change_password(
                    session, user, current, new, address, request.cookies.get(SESSION_COOKIE, "")
                )
        except domain.Forbidden:
            throttle.failed(address, user.name)
            raise
    notice = f"Đã đổi mật khẩu. {revoked} phiên / mã truy cập khác đã bị đăng xuất."
    return _account(request, station, user, notice=notice)
