"""Shared page plumbing: templates, CSRF, who may see a page (login redirect, Vietnamese 403 page)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from broadcast import domain
from broadcast.http.deps import SESSION_COOKIE, OptionalUserDep, StationDep
from broadcast.people.accounts import Principal
from broadcast.scheduler.slots import zone as tz_zone
from broadcast.web import csrf

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.globals.update(
    role_labels=domain.ROLE_LABELS, status_labels=domain.STATUS_LABELS, priority_labels=domain.PRIORITY_LABELS
)
WEEKDAYS = [("0", "T2"), ("1", "T3"), ("2", "T4"), ("3", "T5"), ("4", "T6"), ("5", "T7"), ("6", "CN")]


def page(
    request: Request, station: StationDep, user: Principal | None, name: str, **context: Any
) -> Response:
    """Render a template with the user, the CSRF token of the session and the programme time zone."""
    session_id = request.cookies.get(SESSION_COOKIE, "")
    token = csrf.token_for(station.keys.web_secret(), session_id) if session_id else ""
    tz = tz_zone(station.settings.timezone)
    return templates.TemplateResponse(
        request,
        name,
        {"user": user, "csrf": token, "tz": tz, **context},
        status_code=context.get("code", 200),
    )


def login_redirect() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


def check_csrf(request: Request, station: StationDep, token: str) -> None:
    """Refuse a form post whose token does not belong to the caller's session."""
    if not csrf.is_valid(station.keys.web_secret(), request.cookies.get(SESSION_COOKIE, ""), token):
        raise domain.Forbidden("Phiên làm việc không hợp lệ, hãy tải lại trang.")


def form_csrf(request: Request, station: StationDep, csrf_token: Annotated[str, Form()]) -> None:
    """A form post's CSRF check, as a dependency (the form field `csrf_token`)."""
    check_csrf(request, station, csrf_token)


CsrfChecked = Annotated[None, Depends(form_csrf)]


class PageRefused(Exception):
    """Raised by the page dependencies below; the app answers with `response` (see api/errors.py)."""

    def __init__(self, response: Response) -> None:
        super().__init__("page refused")
        self.response = response


def page_user(user: OptionalUserDep) -> Principal:
    """The signed-in caller of a page, or the login page for everybody else."""
    if user is None:
        raise PageRefused(login_redirect())
    return user


PageUser = Annotated[Principal, Depends(page_user)]


def page_admin(request: Request, station: StationDep, user: PageUser) -> Principal:
    """The caller if an admin; anyone else signed in gets the Vietnamese 403 page."""
    if user.role != domain.Role.ADMIN:
        raise PageRefused(page(request, station, user, "forbidden.html", code=403))
    return user


PageAdmin = Annotated[Principal, Depends(page_admin)]
