"""The audit log for admins: filter, page, export as CSV."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from broadcast import domain
from broadcast.api.schemas import CsvResponse
from broadcast.http import paging
from broadcast.http.deps import StationDep, UserDep
from broadcast.people import audit
from broadcast.people.accounts import Principal

router = APIRouter(prefix="/api", tags=["audit"])


def require_admin(user: UserDep) -> Principal:
    """Return the caller if an admin, else answer 403."""
    if user.role != domain.Role.ADMIN:
        raise domain.Forbidden("Chỉ quản trị viên mới xem được nhật ký thao tác.")
    return user


AdminDep = Annotated[Principal, Depends(require_admin)]


def _filter(
    admin: AdminDep,
    actor: Annotated[str, Query(max_length=64)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    target: Annotated[str, Query(max_length=128)] = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> audit.AuditFilter:
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.tzinfo is None:
            raise domain.Invalid(f"{name}: cần có múi giờ (ví dụ 2026-05-01T00:00:00+07:00).")
    return audit.AuditFilter(actor, action, target, since, until, admin.commune)


FilterDep = Annotated[audit.AuditFilter, Depends(_filter)]


class EntryOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    address: str
    detail: dict[str, Any]


class PageOut(BaseModel):
    total: int
    offset: int
    limit: int
    entries: list[EntryOut]


@router.get("/audit", responses=paging.PAGE_HEADERS)
def list_audit(
    request: Request,
    response: Response,
    station: StationDep,
    where: FilterDep,
    offset: Annotated[int, Query(ge=0, le=paging.MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=audit.MAX_PAGE)] = 100,
) -> PageOut:
    """Return who did what, when and from where, newest first (admins only); the page and the total are
    in the body, and also in the `Link` / `X-Total-Count` headers as on the other lists."""
    with station.db.session() as session:
        entries, total = audit.search(session, where, offset, limit)
    page = paging.PageRequest(limit, offset)
    paging.set_headers(request, response, page, more=offset + len(entries) < total, total=total)
    return PageOut(
        total=total,
        offset=offset,
        limit=limit,
        entries=[
            EntryOut(
                id=e.id,
                at=e.at,
                actor=e.actor,
                action=e.action,
                target=e.target,
                address=e.address,
                detail=dict(e.detail or {}),
            )
            for e in entries
        ],
    )


@router.get("/audit.csv", response_class=CsvResponse)
def export_audit(station: StationDep, where: FilterDep) -> CsvResponse:
    """Export the matching entries as CSV (admins only)."""
    with station.db.session() as session:
        body = audit.export_csv(session, where, station.settings.timezone)
    return CsvResponse(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="nhat-ky-thao-tac.csv"'},
    )
