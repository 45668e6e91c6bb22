"""Edit a waiting or sent-back bulletin (new text read again, or a recorded file), and read one again."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from broadcast import bulletins, domain
from broadcast.bulletins import edits as bulletin_edits
from broadcast.bulletins import jobs as bulletin_jobs
from broadcast.bulletins import review as bulletin_review
from broadcast.bulletins.uploads import Upload
from broadcast.http.deps import AddressDep, StationDep
from broadcast.http.uploads import read_file
from broadcast.people import tenancy
from broadcast.people.accounts import Principal
from broadcast.storage.models import Bulletin
from broadcast.tts.synthesis import Progress
from broadcast.web.bulletin_pages import ENGINES, detail_page
from broadcast.web.forms import SPEECH, file_lost, shown_again
from broadcast.web.pages import CsrfChecked, PageUser, page

router = APIRouter(include_in_schema=False)


def _edit_page(
    request: Request,
    station: StationDep,
    user: Principal,
    bulletin_id: int,
    form: dict[str, Any] | None,
    **extra: Any,
) -> Response:
    with station.db.session() as session:
        bulletin = bulletins.get_bulletin(session, bulletin_id, user)
        zones = tenancy.visible_zones(session, user)
    if form is None:  # first visit: the bulletin as it is
        form = {
            "title": bulletin.title,
            "text": bulletin.text,
            "priority": bulletin.priority,
            "zones": list(bulletin.zones),
            "engine": bulletin.engine,
        }
    return page(
        request,
        station,
        user,
        "bulletin_edit.html",
        b=bulletin,
        form=form,
        zones=zones,
        engines=ENGINES,
        **extra,
    )


@router.get("/bulletins/{bulletin_id}/edit", response_class=HTMLResponse)
def bulletin_edit_form(request: Request, bulletin_id: int, station: StationDep, user: PageUser) -> Response:
    again = partial(detail_page, request, station, user, bulletin_id)  # say why on the bulletin's own page
    with shown_again(again, domain.Conflict), station.db.session() as session:
        bulletin_review.check_editable(bulletins.get_bulletin(session, bulletin_id, user))
    return _edit_page(request, station, user, bulletin_id, None)


@router.post("/bulletins/{bulletin_id}/edit", response_class=HTMLResponse)
def bulletin_edit(
    request: Request,
    bulletin_id: int,
    station: StationDep,
    user: PageUser,
    address: AddressDep,
    _csrf: CsrfChecked,
    title: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    priority: Annotated[str, Form()] = "normal",
    zones: Annotated[list[str] | None, Form()] = None,
    engine: Annotated[str, Form()] = "",
    resubmit: Annotated[str, Form()] = "",
    audio: Annotated[UploadFile | None, File()] = None,
) -> Response:
    draft = bulletins.BulletinDraft(title, text, priority, zones or [], engine or None)
    settings, clips = station.settings, station.clips
    speech, limits = settings.speech, settings.limits
    filename, data = "", b""

    def more(session: Session, bulletin: Bulletin) -> Bulletin:
        """Then the new recording, and submitting again if asked: in the edit's own transaction."""
        if filename:
            bulletin = bulletin_edits.replace_audio(
                session, clips, speech, limits, user, bulletin_id, Upload(filename, data), address
            )
        if resubmit and bulletin_review.can_submit(bulletin.status):
            bulletin = bulletin_review.submit_bulletin(session, user, bulletin_id, address)
        return bulletin

    def save(progress: Progress | None) -> Bulletin:
        """Apply the edit (and a new recording), then submit again if asked; all stored at once."""
        return bulletin_edits.edit_bulletin(
            station.db, clips, speech, limits, user, bulletin_id, draft, address, progress, then=more
        )

    form = {"title": title, "text": text, "priority": priority, "zones": zones or [], "engine": engine}
    with shown_again(partial(_edit_page, request, station, user, bulletin_id, form), SPEECH) as refusal:
        filename, data = read_file(audio, settings.upload_max_bytes)
        refusal.note = file_lost(filename)
        with station.db.session() as session:
            current = bulletins.get_bulletin(session, bulletin_id, user)
            bulletin_review.check_editable(current)
            text_changed = current.source == "tts" and text.strip() != current.text
        if text_changed and not filename and bulletin_jobs.is_long(station, text):
            bulletin_jobs.check_draft(station, user, draft)
            job_id = bulletin_jobs.start_reading(station, user, bulletin_jobs.EDIT, save)
            return RedirectResponse(f"/jobs/{job_id}", status_code=303)
        save(None)
    return RedirectResponse(f"/bulletins/{bulletin_id}", status_code=303)


@router.post("/bulletins/{bulletin_id}/render", response_class=HTMLResponse)
def bulletin_render(
    request: Request,
    bulletin_id: int,
    station: StationDep,
    user: PageUser,
    address: AddressDep,
    _csrf: CsrfChecked,
) -> Response:
    with shown_again(partial(detail_page, request, station, user, bulletin_id), SPEECH):
        with station.db.session() as session:
            current = bulletins.get_bulletin(session, bulletin_id, user)
            long = current.source == "tts" and bulletin_jobs.is_long(station, current.text)
        if long:  # read in the background, with progress
            job_id = bulletin_jobs.start_rerender(station, user, bulletin_id, address)
            return RedirectResponse(f"/jobs/{job_id}", status_code=303)
        bulletins.rerender_bulletin(
            station.db, station.clips, station.settings.speech, user, bulletin_id, address
        )
    station.refresh_programme()
    return RedirectResponse(f"/bulletins/{bulletin_id}", status_code=303)
