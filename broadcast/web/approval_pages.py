"""The approval queue: listen, then approve or send back with a reason; submit a sent-back bulletin again."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from broadcast import bulletins, domain
from broadcast.bulletins import queries as bulletin_queries
from broadcast.bulletins import review as bulletin_review
from broadcast.http.deps import AddressDep, StationDep
from broadcast.people.accounts import Principal
from broadcast.web.bulletin_pages import detail_page
from broadcast.web.forms import Render, shown_again
from broadcast.web.pages import CsrfChecked, PageUser, page

router = APIRouter(include_in_schema=False)
QUEUE = "queue"  # value of the forms' `back` field on the queue page: come back to the queue


def _queue_page(request: Request, station: StationDep, user: Principal, **extra: Any) -> Response:
    with station.db.session() as session:
        waiting = bulletin_review.approval_queue(session, user)
        clips = bulletin_queries.clips_of(session, waiting)
    return page(
        request,
        station,
        user,
        "approvals.html",
        waiting=waiting,
        versions={b.id: bulletins.version_of(b) for b in waiting},
        clips=clips,
        can_approve=domain.can_approve(user.role),
        reasons=extra.pop("reasons", {}),
        **extra,
    )


def _again(
    request: Request, station: StationDep, user: Principal, bulletin_id: int, back: str, **typed: Any
) -> Render:
    """Return the page a refused decision comes back on: the queue, or the bulletin's own page."""
    if back == QUEUE:
        return partial(_queue_page, request, station, user, **typed)
    return partial(detail_page, request, station, user, bulletin_id, **typed)


def _back(bulletin_id: int, back: str) -> RedirectResponse:
    target = "/approvals" if back == QUEUE else f"/bulletins/{bulletin_id}"
    return RedirectResponse(target, status_code=303)


@router.get("/approvals", response_class=HTMLResponse)
def approval_queue(request: Request, station: StationDep, user: PageUser) -> Response:
    return _queue_page(request, station, user)


@router.post("/bulletins/{bulletin_id}/approve", response_class=HTMLResponse)
def bulletin_approve(
    request: Request,
    bulletin_id: int,
    station: StationDep,
    user: PageUser,
    address: AddressDep,
    _csrf: CsrfChecked,
    back: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "",
) -> Response:
    """Approve the version the page showed; a form without one (a stale page) approves nothing."""
    with shown_again(_again(request, station, user, bulletin_id, back)), station.db.session() as session:
        bulletins.approve_bulletin(session, user, bulletin_id, address, version)
    station.refresh_programme()
    return _back(bulletin_id, back)


@router.post("/bulletins/{bulletin_id}/reject", response_class=HTMLResponse)
def bulletin_reject(
    request: Request,
    bulletin_id: int,
    station: StationDep,
    user: PageUser,
    address: AddressDep,
    _csrf: CsrfChecked,
    reason: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    typed = {"reasons": {bulletin_id: reason}} if back == QUEUE else {"reason": reason}
    again = _again(request, station, user, bulletin_id, back, **typed)
    with shown_again(again, prefix=f"Bản tin số {bulletin_id}: "), station.db.session() as session:
        bulletin_review.reject_bulletin(session, user, bulletin_id, reason, address)
    station.refresh_programme()  # an approved bulletin sent back must not air
    return _back(bulletin_id, back)


@router.post("/bulletins/{bulletin_id}/submit", response_class=HTMLResponse)
def bulletin_submit(
    request: Request,
    bulletin_id: int,
    station: StationDep,
    user: PageUser,
    address: AddressDep,
    _csrf: CsrfChecked,
) -> Response:
    again = partial(detail_page, request, station, user, bulletin_id)
    with shown_again(again), station.db.session() as session:
        bulletin_review.submit_bulletin(session, user, bulletin_id, address)
    return RedirectResponse(f"/bulletins/{bulletin_id}", status_code=303)
