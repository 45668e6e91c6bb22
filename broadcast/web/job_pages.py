"""Progress pages of long operations, and the import of many bulletins from one file."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from broadcast import jobs
from broadcast.backup import scheduled as backup_jobs
from broadcast.bulletins import importing as bulletin_import
from broadcast.bulletins import jobs as bulletin_jobs
from broadcast.http.deps import AddressDep, StationDep
from broadcast.http.uploads import read_file
from broadcast.people import tenancy
from broadcast.people.accounts import Principal
from broadcast.web.forms import file_lost, shown_again
from broadcast.web.pages import CsrfChecked, PageUser, page

router = APIRouter(include_in_schema=False)
KIND_LABELS = {
    bulletin_jobs.CREATE: "Đọc bản tin mới",
    bulletin_jobs.EDIT: "Đọc lại bản tin đã sửa",
    bulletin_jobs.RENDER: "Đọc lại bản tin",
    bulletin_jobs.IMPORT: "Nhập bản tin từ tệp",
    backup_jobs.JOB_KIND: "Sao lưu",
}


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: str, station: StationDep, user: PageUser) -> Response:
    with station.db.session() as session:
        job = jobs.get_job(session, job_id, user)
    return page(
        request,
        station,
        user,
        "job.html",
        job=job,
        percent=jobs.percent(job),
        label=KIND_LABELS.get(job.kind, job.kind),
        ids=list(job.result.get("bulletin_ids", [])),
    )


def _import_page(
    request: Request, station: StationDep, user: Principal, form: dict[str, Any], **extra: Any
) -> Response:
    with station.db.session() as session:
        zones = tenancy.visible_zones(session, user)
    settings = station.settings
    return page(
        request,
        station,
        user,
        "bulletin_import.html",
        zones=zones,
        form=form,
        max_bulletins=settings.import_max_bulletins,
        max_kb=settings.import_max_bytes // 1000,
        **extra,
    )


@router.get("/bulletins/import", response_class=HTMLResponse)
def import_form(request: Request, station: StationDep, user: PageUser) -> Response:
    return _import_page(request, station, user, {"priority": "normal", "zones": []})


@router.post("/bulletins/import", response_class=HTMLResponse)
def import_file(
    request: Request,
    station: StationDep,
    user: PageUser,
    address: AddressDep,
    _csrf: CsrfChecked,
    zones: Annotated[list[str] | None, Form()] = None,
    priority: Annotated[str, Form()] = "normal",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    form = {"zones": zones or [], "priority": priority}
    with shown_again(partial(_import_page, request, station, user, form)) as refusal:
        filename, data = read_file(file, station.settings.import_max_bytes)
        refusal.note = file_lost(filename, "tệp sau khi sửa")
        with station.db.session() as session:
            rows = bulletin_import.parse_import(
                session,
                user,
                station.settings.speech,
                station.settings.limits,
                filename,
                data,
                zones or [],
                priority,
            )
    job_id = bulletin_jobs.start_import(station, user, rows, filename, address)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)
