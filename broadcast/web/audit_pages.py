"""The audit log viewer (admins): filter by actor, action, target and dates; page; export CSV."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from broadcast import domain
from broadcast.http.deps import StationDep
from broadcast.people import audit, audit_text
from broadcast.people.accounts import Principal
from broadcast.scheduler.slots import zone as tz_zone
from broadcast.web.forms import shown_again
from broadcast.web.pages import PageUser, page

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


def _day(value: str, label: str, tz: str, shift: int = 0) -> datetime | None:
    """Return local midnight of a YYYY-MM-DD day (+shift days) as an aware datetime."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise domain.Invalid(f"{label}: ngày không hợp lệ {value!r} (dạng 2026-05-31).") from None
    return datetime.combine(day + timedelta(days=shift), time(), tz_zone(tz))


def _filter(user: Principal, tz: str, form: dict[str, str]) -> audit.AuditFilter:
    return audit.AuditFilter(
        actor=form["actor"],
        action=form["action"],
        target=form["target"],
        since=_day(form["since"], "Từ ngày", tz),
        until=_day(form["until"], "Đến ngày", tz, shift=1),  # the whole last day
        commune=user.commune,
    )


def _forbidden(request: Request, station: StationDep, user: Principal) -> Response:
    error = "Chỉ quản trị viên mới xem được nhật ký thao tác."
    return page(request, station, user, "audit.html", entries=[], total=0, form={}, error=error, code=403)


Field = Annotated[str, Query(max_length=128)]


def _choices(recorded: list[str]) -> list[tuple[str, str]]:
    """Return the action filter's options: each family ("Mọi thao tác với bản tin"), then each action."""
    families = sorted({a.split(".", 1)[0] for a in recorded})
    return [(f, audit_text.action_label(f)) for f in families] + [
        (a, audit_text.action_label(a)) for a in recorded
    ]


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    station: StationDep,
    user: PageUser,
    actor: Field = "",
    action: Field = "",
    target: Field = "",
    since: Field = "",
    until: Field = "",
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    if user.role != domain.Role.ADMIN:
        return _forbidden(request, station, user)
    form = {"actor": actor, "action": action, "target": target, "since": since, "until": until}
    query = urlencode({k: v for k, v in form.items() if v})
    context = {"form": form, "query": query, "page_no": page_no, "page_size": PAGE_SIZE}
    with station.db.session() as session:
        known_actions = _choices(audit.actions(session))
        again = partial(
            page, request, station, user, "audit.html", entries=[], total=0, actions=known_actions, **context
        )
        with shown_again(again, domain.Invalid):
            where = _filter(user, station.settings.timezone, form)
        entries, total = audit.search(session, where, (page_no - 1) * PAGE_SIZE, PAGE_SIZE)
        said = audit_text.sentences(session, entries)
    pages = max(1, -(-total // PAGE_SIZE))
    return page(
        request, station, user, "audit.html", entries=list(zip(entries, said, strict=True)), total=total,
        pages=pages, actions=known_actions, **context,
    )  # fmt: skip


@router.get("/audit.csv", response_model=None)
def audit_csv(
    request: Request,
    station: StationDep,
    user: PageUser,
    actor: Field = "",
    action: Field = "",
    target: Field = "",
    since: Field = "",
    until: Field = "",
) -> Response:
    if user.role != domain.Role.ADMIN:
        return _forbidden(request, station, user)
    form = {"actor": actor, "action": action, "target": target, "since": since, "until": until}
    where = _filter(user, station.settings.timezone, form)  # a bad date answers 422 (JSON, from the link)
    with station.db.session() as session:
        body = audit.export_csv(session, where, station.settings.timezone)
    return PlainTextResponse(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="nhat-ky-thao-tac.csv"'},
    )
