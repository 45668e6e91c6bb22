"""Bulletin routes: create (draft + preview audio), read, list, edit, approve or send back, history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response, status

from broadcast import bulletins
from broadcast.api.jobs import JobOut, job_out
from broadcast.api.schemas import (
    BulletinApproveIn,
    BulletinEventOut,
    BulletinIn,
    BulletinOut,
    BulletinRejectIn,
)
from broadcast.bulletins import edits as bulletin_edits
from broadcast.bulletins import history as bulletin_history
from broadcast.bulletins import jobs as bulletin_jobs
from broadcast.bulletins import queries as bulletin_queries
from broadcast.bulletins import review as bulletin_review
from broadcast.bulletins import spelled_terms as unknown_terms
from broadcast.bulletins.dictionary import commune_dictionary
from broadcast.bulletins.spelled_terms import MEMO
from broadcast.http import etag, paging
from broadcast.http.deps import AddressDep, StationDep, UserDep
from broadcast.storage.models import Bulletin

router = APIRouter(prefix="/api/bulletins", tags=["bulletins"])


def bulletin_out(station: StationDep, bulletin: Bulletin) -> BulletinOut:
    with station.db.session() as session:
        clip = bulletin_queries.clip_of(session, bulletin)
        unknown = bulletins.unknown_terms(session, bulletin)
    return BulletinOut.of(bulletin, clip.duration_s if clip else 0.0, unknown)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_bulletin(body: BulletinIn, station: StationDep, user: UserDep, address: AddressDep) -> BulletinOut:
    """Write a bulletin, read aloud at once; it waits for review (`"draft": true`: kept unsent)."""
    draft = bulletins.BulletinDraft(
        body.title, body.text, body.priority, body.zones, body.engine, body.voice, keep_as_draft=body.draft
    )
    speech, limits = station.settings.speech, station.settings.limits
    bulletin = bulletins.create_bulletin(station.db, station.clips, speech, limits, user, draft, address)
    return bulletin_out(station, bulletin)


@router.get("", responses=paging.PAGE_HEADERS)
def list_bulletins(
    request: Request,
    response: Response,
    station: StationDep,
    user: UserDep,
    page: Annotated[paging.PageRequest, Depends(paging.id_paging())],
    status: str | None = None,
) -> list[BulletinOut]:
    """Return the newest bulletins first, a page at a time (`Link` header: the next page).

    Three queries whatever the page size: the total, the page with its clips' lengths joined, and the
    commune dictionary (unknown abbreviations are remembered per text and dictionary).
    """
    chosen = bulletin_review.check_status_filter(status)
    with station.db.session() as session:
        total = bulletins.count_bulletins(session, chosen, user)
        rows, more = paging.split(
            bulletins.list_with_durations(session, chosen, user, page.limit + 1, page.offset, page.before_id),
            page,
        )
        needs_dictionary = any(b.source != "upload" for b, _ in rows)
        dictionary = commune_dictionary(session) if needs_dictionary else {}
    key = unknown_terms.fingerprint(dictionary)
    listed = [
        BulletinOut.of(b, duration, [] if b.source == "upload" else MEMO.of(b.text, dictionary, key))
        for b, duration in rows
    ]
    last_id = rows[-1][0].id if rows else None
    paging.set_headers(request, response, page, more=more, last_id=last_id, keyset=True, total=total)
    return listed


@router.get("/{bulletin_id}")
def get_bulletin(bulletin_id: int, response: Response, station: StationDep, user: UserDep) -> BulletinOut:
    """Return the bulletin; its `version` is also the ETag to send back with the approval."""
    with station.db.session() as session:
        bulletin = bulletins.get_bulletin(session, bulletin_id, user)
    out = bulletin_out(station, bulletin)
    response.headers["ETag"] = etag.quote(out.version)
    return out


@router.post("/{bulletin_id}/approve", responses=etag.APPROVE_RESPONSES)
def approve_bulletin(
    bulletin_id: int,
    station: StationDep,
    user: UserDep,
    address: AddressDep,
    body: BulletinApproveIn | None = None,
    if_match: Annotated[str | None, Header(description="ETag của bản đã nghe")] = None,
) -> BulletinOut:
    """Approve a bulletin for air (approver or admin only).

    Name the version heard (`If-Match: <ETag>` or `{"version": ...}`) and a bulletin changed since is
    refused with 409 and stays in the queue; without either, the current version is approved.
    """
    reviewed = etag.reviewed_version(if_match, body.version if body else None)
    with station.db.session() as session:
        bulletin = bulletins.approve_bulletin(session, user, bulletin_id, address, reviewed)
    station.refresh_programme()  # slots holding it may air it again
    return bulletin_out(station, bulletin)


@router.post("/{bulletin_id}/render")
def render_again(bulletin_id: int, station: StationDep, user: UserDep, address: AddressDep) -> BulletinOut:
    """Read the bulletin again with the current commune dictionary (changed audio needs a new approval)."""
    bulletin = bulletins.rerender_bulletin(
        station.db, station.clips, station.settings.speech, user, bulletin_id, address
    )
    station.refresh_programme()  # new audio, or back to draft: the programme changes with it
    return bulletin_out(station, bulletin)


def _draft(body: BulletinIn) -> bulletins.BulletinDraft:
    return bulletins.BulletinDraft(body.title, body.text, body.priority, body.zones, body.engine, body.voice)


@router.post("/jobs", status_code=status.HTTP_202_ACCEPTED)
def create_bulletin_in_background(
    body: BulletinIn, station: StationDep, user: UserDep, address: AddressDep
) -> JobOut:
    """Write a (long) bulletin and read it in the background; poll the job for progress and the result."""
    draft = _draft(body)
    bulletin_jobs.check_draft(station, user, draft)  # bad input is refused now, not when the job runs
    return job_out(station, bulletin_jobs.start_create(station, user, draft, address), user)


@router.put("/{bulletin_id}")
def edit_bulletin(
    bulletin_id: int, body: BulletinIn, station: StationDep, user: UserDep, address: AddressDep
) -> BulletinOut:
    """Change a waiting or sent-back bulletin; a changed text is read again."""
    speech, limits = station.settings.speech, station.settings.limits
    bulletin = bulletin_edits.edit_bulletin(
        station.db, station.clips, speech, limits, user, bulletin_id, _draft(body), address
    )
    return bulletin_out(station, bulletin)


@router.post("/{bulletin_id}/reject")
def reject_bulletin(
    bulletin_id: int, body: BulletinRejectIn, station: StationDep, user: UserDep, address: AddressDep
) -> BulletinOut:
    """Send a bulletin back to its editor with a reason (approver or admin only)."""
    with station.db.session() as session:
        bulletin = bulletin_review.reject_bulletin(session, user, bulletin_id, body.reason, address)
    station.refresh_programme()  # if it was approved, it must not air any more
    return bulletin_out(station, bulletin)


@router.post("/{bulletin_id}/submit")
def submit_bulletin(bulletin_id: int, station: StationDep, user: UserDep, address: AddressDep) -> BulletinOut:
    """Submit a sent-back bulletin for approval again."""
    with station.db.session() as session:
        bulletin = bulletin_review.submit_bulletin(session, user, bulletin_id, address)
    return bulletin_out(station, bulletin)


@router.get("/{bulletin_id}/history")
def bulletin_history_list(bulletin_id: int, station: StationDep, user: UserDep) -> list[BulletinEventOut]:
    """Every step of the bulletin, oldest first: created, edited (what changed), approved, sent back…"""
    with station.db.session() as session:
        bulletins.get_bulletin(session, bulletin_id, user)
        entries = bulletin_history.history(session, bulletin_id)
    return [
        BulletinEventOut(at=e.at, actor=e.actor, action=e.action, summary=e.summary, detail=e.detail)
        for e in entries
    ]
