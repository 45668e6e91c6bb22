"""All Vietnamese pages, one router, and the handler that answers a page's refusal."""

from __future__ import annotations

from types import ModuleType

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from broadcast.web import (
    account_pages,
    admin_pages,
    admin_place_pages,
    alert_pages,
    approval_pages,
    audit_pages,
    auth_pages,
    backup_pages,
    bulletin_edit_pages,
    bulletin_pages,
    commune_pages,
    device_pages,
    home_pages,
    https_pages,
    job_pages,
    live_pages,
    programme_pages,
    report_pages,
    station_pages,
)
from broadcast.web.pages import PageRefused

router = APIRouter(include_in_schema=False)
pages: tuple[ModuleType, ...] = (alert_pages, auth_pages, bulletin_pages, programme_pages, station_pages)
pages += (account_pages, audit_pages)
# job_pages first among the bulletin pages: its /bulletins/import must win over /bulletins/{bulletin_id}.
pages = (job_pages, approval_pages, bulletin_edit_pages, *pages)
pages += (admin_pages, admin_place_pages, device_pages, report_pages, live_pages)
pages += (backup_pages,)  # /admin/backup
pages += (commune_pages,)  # the commune's own settings (quiet hours)
pages += (https_pages,)  # /ca.crt and /https: public, no login
pages += (home_pages,)  # `/`: the officer's desk
for module in pages:
    router.include_router(module.router)


def install_page_refusals(app: FastAPI) -> None:
    """Answer a page dependency's refusal (login redirect, 403 page) with the response it carries."""

    async def _refused(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageRefused)
        return exc.response

    app.add_exception_handler(PageRefused, _refused)
