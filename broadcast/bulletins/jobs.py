"""Bulletin work that may take long, started as jobs: reading a long text, importing a file of bulletins."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from broadcast import bulletins
from broadcast.bulletins.importing import ImportRow, run_import
from broadcast.jobs import Reporter
from broadcast.people import tenancy
from broadcast.people.accounts import Principal
from broadcast.storage.models import Bulletin
from broadcast.tts.synthesis import Progress

if TYPE_CHECKING:
    from broadcast.station import Station

CREATE, EDIT, RENDER, IMPORT = "bulletin.create", "bulletin.edit", "bulletin.render", "bulletin.import"


def is_long(station: Station, text: str) -> bool:
    """Return True if reading `text` takes long enough that the web page should show progress."""
    return len(text) > station.settings.background_text_chars


def start_reading(
    station: Station,
    user: Principal,
    kind: str,
    act: Callable[[Session, Progress], Bulletin],
    *,
    refresh: bool = False,
) -> str:
    """Start a job that reads one bulletin with `act` (progress per sentence) and return the job's id."""

    def work(report: Reporter) -> dict[str, Any]:
        with station.db.session() as session:
            bulletin_id = act(session, report.sentences()).id
        if refresh:
            station.refresh_programme()  # an approved bulletin whose audio changed waits for approval again
        return {"bulletin_id": bulletin_id, "url": f"/bulletins/{bulletin_id}"}

    return station.jobs.start(station.db, kind, user.name, work, message="Đang chuẩn bị đọc…")


def start_create(station: Station, user: Principal, draft: bulletins.BulletinDraft, address: str) -> str:
    """Create a bulletin in the background."""
    return start_reading(
        station,
        user,
        CREATE,
        lambda session, progress: bulletins.create_bulletin(
            session, station.clips, station.settings, user, draft, address, progress
        ),
    )


def start_rerender(station: Station, user: Principal, bulletin_id: int, address: str) -> str:
    """Read a bulletin again in the background."""
    return start_reading(
        station,
        user,
        RENDER,
        lambda session, progress: bulletins.rerender_bulletin(
            session, station.clips, station.settings, user, bulletin_id, address, progress
        ),
        refresh=True,
    )


def start_import(
    station: Station, user: Principal, rows: list[ImportRow], filename: str, address: str
) -> str:
    """Read and store checked import rows in the background (progress per bulletin)."""

    def work(report: Reporter) -> dict[str, Any]:
        ids = run_import(station.db, station.clips, station.settings, user, rows, filename, address, report)
        return {"bulletin_ids": ids, "url": "/bulletins?status=draft"}

    return station.jobs.start(
        station.db, IMPORT, user.name, work, message=f"Đang chuẩn bị đọc {len(rows)} bản tin…"
    )


def check_draft(station: Station, user: Principal, draft: bulletins.BulletinDraft) -> None:
    """Raise Invalid now for a draft a background job would refuse (so the form can show it at once)."""
    with station.db.session() as session:
        clean = bulletins.validate_draft(session, draft, station.settings)
        tenancy.scope_zones(session, user, clean.zones)
