"""The admin's backup page (/admin/backup, "Sao lưu"): last results, settings, "Sao lưu ngay", the drill.

Backups themselves run as background jobs (broadcast/backup/scheduled.py); this page starts one and shows
what the jobs table says, so any station worker answers it the same.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from broadcast.backup import scheduled
from broadcast.http.deps import AddressDep, StationDep
from broadcast.people.accounts import Principal
from broadcast.web import home_view
from broadcast.web.forms import shown_again
from broadcast.web.pages import CsrfChecked, PageAdmin, page

router = APIRouter(include_in_schema=False)
RESULTS = {"running": "Đang chạy", "done": "Thành công", "failed": "Không thành công"}


def _backup_page(request: Request, station: StationDep, user: Principal, **extra: Any) -> Response:
    settings = station.settings.backup
    with station.db.session() as session:
        runs = scheduled.runs(session, limit=14)
        restored = scheduled.last_restore(session)
    return page(
        request,
        station,
        user,
        "admin_backup.html",
        runs=runs,
        restored=restored,
        results=RESULTS,
        destination=settings.backup_to,
        daily_at=settings.backup_at,
        keep=settings.backup_keep,
        passphrase_set=scheduled.passphrase_configured(station.settings),
        size_text=home_view.size_text,
        local_time=home_view.local_time,
        running=bool(runs) and runs[0].status == "running",
        **extra,
    )


@router.get("/admin/backup", response_class=HTMLResponse)
def backup_page(request: Request, station: StationDep, admin: PageAdmin, started: int = 0) -> Response:
    notice = "Đã bắt đầu sao lưu; tải lại trang sau ít phút để xem kết quả." if started else None
    return _backup_page(request, station, admin, notice=notice)


@router.post("/admin/backup", response_class=HTMLResponse)
def backup_now(
    request: Request, station: StationDep, admin: PageAdmin, address: AddressDep, _csrf: CsrfChecked
) -> Response:
    """Start a backup in the background ("Sao lưu ngay") and come back to the page."""
    with shown_again(partial(_backup_page, request, station, admin)):
        scheduled.start(station.settings, station.db, station.jobs, admin.name, address)
    return RedirectResponse("/admin/backup?started=1", status_code=303)
