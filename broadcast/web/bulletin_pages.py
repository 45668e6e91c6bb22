"""Write a bulletin, hear it, approve it, read it again, schedule it."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from broadcast import bulletins, domain, programme
from broadcast.bulletins import edits as bulletin_edits
from broadcast.bulletins import history as bulletin_history
from broadcast.bulletins import jobs as bulletin_jobs
from broadcast.bulletins import queries as bulletin_queries
from broadcast.bulletins import review as bulletin_review
from broadcast.bulletins.uploads import Upload
from broadcast.config import SpeechSettings
from broadcast.http import paging
from broadcast.http.deps import AddressDep, StationDep
from broadcast.http.uploads import read_file
from broadcast.people import tenancy
from broadcast.people.accounts import Principal
from broadcast.reports import play_rows
from broadcast.tts.voices import RECOMMENDED_VOICE, voice_names
from broadcast.web import programme_pages
from broadcast.web.forms import SPEECH, file_lost, shown_again
from broadcast.web.pages import WEEKDAYS, CsrfChecked, PageUser, page

router = APIRouter(include_in_schema=False)
LIST_PAGE = 100  # bulletins per page of the list
ENGINES = {
    "espeak": "espeak-ng (ngoại tuyến, luôn sẵn sàng)",
    "piper": "Piper (ngoại tuyến, giọng tự nhiên hơn; cần cài giọng)",
    "viettts": "vietTTS (ngoại tuyến; cần bộ trọng số)",
    "gtts": "Google (trực tuyến)",
    "edge": "Microsoft Edge (trực tuyến)",
}


def default_reader(speech: SpeechSettings) -> tuple[str, str]:
    """Return the engine and voice that read a bulletin when the form's engine is kept."""
    engine, voice = speech.tts_engine, speech.tts_voice
    if engine == "piper":
        installed = voice_names(speech.voices_dir)
        voice = voice or next(iter(installed), "")
        if voice not in installed:  # Piper cannot read: the fallback (espeak-ng) does
            return "espeak", ""
    return engine, voice


def _list_page(
    request: Request,
    station: StationDep,
    user: Principal,
    form: dict[str, Any],
    status: str | None = None,
    page_no: int = 1,
    **extra: Any,
) -> Response:
    """Render one page of the bulletin list (filtered by status) with the new-bulletin form."""
    with station.db.session() as session:
        rows = bulletins.list_bulletins(
            session, status, LIST_PAGE + 1, viewer=user, offset=(page_no - 1) * LIST_PAGE
        )
        zones = tenancy.visible_zones(session, user)
    prev_url, next_url = paging.page_urls(
        "/bulletins", {"status": status or ""}, "page", page_no, len(rows) > LIST_PAGE, "#list"
    )
    return page(
        request,
        station,
        user,
        "bulletins.html",
        bulletins=rows[:LIST_PAGE],
        page_no=page_no,
        prev_url=prev_url,
        next_url=next_url,
        zones=zones,
        form=form,
        engines=ENGINES,
        reader=default_reader(station.settings.speech),
        natural_voice=RECOMMENDED_VOICE,
        status=status or "",
        upload_max_mb=station.settings.upload_max_bytes / 1e6,
        upload_max_min=station.settings.upload_max_s / 60,
        **extra,
    )


@router.get("/bulletins", response_class=HTMLResponse)
def bulletin_list(
    request: Request,
    station: StationDep,
    user: PageUser,
    status: str = "",
    page_no: Annotated[str, Query(alias="page")] = "",
) -> Response:
    form = {"engine": station.settings.tts_engine}
    with shown_again(partial(_list_page, request, station, user, form)):
        chosen = bulletin_review.check_status_filter(status)
        number = paging.page_number(page_no)
    return _list_page(request, station, user, form, chosen, number)


@router.post("/bulletins", response_class=HTMLResponse)
def bulletin_create(
    request: Request,
    station: StationDep,
    user: PageUser,
    address: AddressDep,
    _csrf: CsrfChecked,
    title: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    priority: Annotated[str, Form()] = "normal",
    zones: Annotated[list[str] | None, Form()] = None,
    engine: Annotated[str, Form()] = "",
    audio: Annotated[UploadFile | None, File()] = None,
    action: Annotated[str, Form()] = "submit",
) -> Response:
    # Two buttons: "Lưu nháp" (action=draft) keeps it for its author; "Gửi duyệt" queues it for approval.
    keep = action == "draft"
    draft = bulletins.BulletinDraft(title, text, priority, zones or [], engine or None, keep_as_draft=keep)
    form = {"title": title, "text": text, "priority": priority, "zones": zones or [], "engine": engine}
    with shown_again(partial(_list_page, request, station, user, form), SPEECH, code=422) as refusal:
        filename, data = read_file(audio, station.settings.upload_max_bytes)
        refusal.note = file_lost(filename)
        if not filename and bulletin_jobs.is_long(station, text):  # read in the background, with progress
            bulletin_jobs.check_draft(station, user, draft)
            job_id = bulletin_jobs.start_create(station, user, draft, address)
            return RedirectResponse(f"/jobs/{job_id}", status_code=303)
        speech, limits = station.settings.speech, station.settings.limits
        if filename:  # a recorded file replaces the machine voice
            with station.db.session() as session:
                bulletin = bulletin_edits.create_uploaded_bulletin(
                    session, station.clips, speech, limits, user, draft, Upload(filename, data), address
                )
        else:
            bulletin = bulletins.create_bulletin(
                station.db, station.clips, speech, limits, user, draft, address
            )
    return RedirectResponse(f"/bulletins/{bulletin.id}", status_code=303)


def _confirmation(
    history: list[bulletin_history.HistoryEntry], slot_id: int | None
) -> bulletin_history.HistoryEntry | None:
    """Return the scheduling entry of the slot just created (the page's confirmation), if any."""
    found = [e for e in history if e.action == bulletin_history.Action.SCHEDULED]
    return next((e for e in reversed(found) if e.detail.get("slot") == slot_id), None)


def detail_page(
    request: Request,
    station: StationDep,
    user: Principal,
    bulletin_id: int,
    scheduled: int | None = None,
    **extra: Any,
) -> Response:
    with station.db.session() as session:
        bulletin = bulletins.get_bulletin(session, bulletin_id, user)
        clip = bulletin_queries.clip_of(session, bulletin)
        slots = bulletin_queries.airing_slots(session, bulletin_id, user)
        plays = play_rows.rows(session, bulletin_queries.plays_of(session, bulletin_id, user))
        unknown = bulletins.unknown_terms(session, bulletin)
        history = bulletin_history.history(session, bulletin_id)
    return page(
        request,
        station,
        user,
        "bulletin.html",
        b=bulletin,
        version=bulletins.version_of(bulletin),  # the approve form sends it back: approve what was heard
        clip=clip,
        slots=slots,
        plays=plays,
        weekdays=WEEKDAYS,
        unknown=unknown,
        can_approve=domain.can_approve(user.role),
        can_air=domain.can_air(bulletin.status),
        can_edit=bulletin_review.can_edit(bulletin.status),
        can_reject=bulletin_review.can_reject(bulletin.status),
        can_submit=bulletin_review.can_submit(bulletin.status),
        history=history,
        scheduled=_confirmation(history, scheduled),
        **extra,
    )


@router.get("/bulletins/{bulletin_id}", response_class=HTMLResponse)
def bulletin_detail(
    request: Request, bulletin_id: int, station: StationDep, user: PageUser, scheduled: str = ""
) -> Response:
    slot_id = int(scheduled) if scheduled.isdigit() else None
    return detail_page(request, station, user, bulletin_id, slot_id)


@router.post("/bulletins/{bulletin_id}/schedule", response_class=HTMLResponse)
def bulletin_schedule(
    request: Request,
    bulletin_id: int,
    station: StationDep,
    user: PageUser,
    address: AddressDep,
    _csrf: CsrfChecked,
    mode: Annotated[str, Form()] = "once",
    start_at: Annotated[str, Form()] = "",
    daily_at: Annotated[str, Form()] = "",
    days: Annotated[list[str] | None, Form()] = None,
) -> Response:
    slot_request = _schedule_request(bulletin_id, mode, start_at, daily_at, days)
    typed = {"mode": mode, "start_at": start_at, "daily_at": daily_at, "days": days or []}
    again = partial(detail_page, request, station, user, bulletin_id, schedule_form=typed)
    with shown_again(again), station.db.session() as session:
        slot, _ = programme.create_slot(
            session, station.scheduler, station.rules(), user, slot_request, address
        )
    station.refresh_programme(slot.zones)
    return RedirectResponse(f"/bulletins/{bulletin_id}?scheduled={slot.id}#scheduled", status_code=303)


def _schedule_request(
    bulletin_id: int, mode: str, start_at: str, daily_at: str, days: list[str] | None
) -> programme.SlotRequest:
    """Return the slot the schedule form asks for (static/programme_check.js builds the same body)."""
    once = mode == "once"
    return programme.SlotRequest(
        zones=[],
        start_at=start_at if once else None,
        daily_at=None if once else daily_at,
        days=None if once else (days or []),  # every day unticked is a mistake to point out, not "daily"
        items=[programme.ItemRequest(bulletin_id=bulletin_id)],
    )


@router.post("/bulletins/{bulletin_id}/schedule/check", response_class=HTMLResponse)
def bulletin_schedule_check(
    request: Request,
    bulletin_id: int,
    station: StationDep,
    user: PageUser,
    _csrf: CsrfChecked,
    mode: Annotated[str, Form()] = "once",
    start_at: Annotated[str, Form()] = "",
    daily_at: Annotated[str, Form()] = "",
    days: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Show what saving this schedule would refuse (the no-script "Kiểm tra" button); store nothing."""
    slot_request = _schedule_request(bulletin_id, mode, start_at, daily_at, days)
    with station.db.session() as session:
        checked = programme.check_slot(session, station.rules(), user, slot_request)
        session.rollback()
    typed = {"mode": mode, "start_at": start_at, "daily_at": daily_at, "days": days or []}
    view = programme_pages.check_view(checked, station.settings.timezone)
    return detail_page(request, station, user, bulletin_id, schedule_form=typed, slot_check=view)
