"""Bulletin work that may take long, started as jobs: reading a long text, importing a file of bulletins."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from broadcast import bulletins
from broadcast.bulletins.importing import ImportRow, run_import
from broadcast.clipstore.store import ClipStorage
from broadcast.config import Settings
from broadcast.jobs import JobRunner, Reporter
from broadcast.people import tenancy
from broadcast.people.accounts import Principal
from broadcast.storage.db import Database
from broadcast.storage.models import Bulletin
from broadcast.tts.synthesis import Progress

CREATE, EDIT, RENDER, IMPORT = "bulletin.create", "bulletin.edit", "bulletin.render", "bulletin.import"


class Station(Protocol):
    """What bulletin jobs need of the running station (broadcast.station.Station, the composition root)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def db(self) -> Database: ...

    @property
    def clips(self) -> ClipStorage: ...

    @property
    def jobs(self) -> JobRunner: ...

    def refresh_programme(self, zones: Iterable[str] | None = None) -> bool: ...


def is_long(station: Station, text: str) -> bool:
    """Return True if reading `text` takes long enough that the web page should show progress."""
    return len(text) > station.settings.limits.background_text_chars


def start_reading(
    station: Station,
    user: Principal,
    kind: str,
    act: Callable[[Progress], Bulletin],
    *,
    refresh: bool = False,
) -> str:
    """Start a job that reads one bulletin with `act` (progress per sentence) and return the job's id.

    `act` opens its own short transactions: none is open while the text is read aloud.
    """

    def work(report: Reporter) -> dict[str, Any]:
        bulletin_id = act(report.sentences()).id
        if refresh:
            station.refresh_programme()  # an approved bulletin whose audio changed waits for approval again
        return {"bulletin_id": bulletin_id, "url": f"/bulletins/{bulletin_id}"}

    return station.jobs.start(station.db, kind, user.name, work, message="Đang chuẩn bị đọc…")


def start_create(station: Station, user: Principal, draft: bulletins.BulletinDraft, address: str) -> str:
    """Create a bulletin in the background."""
    settings = station.settings
    return start_reading(
        station,
        user,
        CREATE,
        lambda progress: bulletins.create_bulletin(
            station.db, station.clips, settings.speech, settings.limits, user, draft, address, progress
        ),
    )


def start_rerender(station: Station, user: Principal, bulletin_id: int, address: str) -> str:
    """Read a bulletin again in the background."""
    return start_reading(
        station,
        user,
        RENDER,
        lambda progress: bulletins.rerender_bulletin(
            station.db, station.clips, station.settings.speech, user, bulletin_id, address, progress
        ),
        refresh=True,
    )


def start_import(
    station: Station, user: Principal, rows: list[ImportRow], filename: str, address: str
) -> str:
    """Read and store checked import rows in the background (progress per bulletin)."""
    speech = station.settings.speech

    def work(report: Reporter) -> dict[str, Any]:
        ids = run_import(station.db, station.clips, speech, user, rows, filename, address, report)
        return {"bulletin_ids": ids, "url": "/bulletins?status=draft"}

    return station.jobs.start(
        station.db, IMPORT, user.name, work, message=f"Đang chuẩn bị đọc {len(rows)} bản tin…"
    )


def check_draft(station: Station, user: Principal, draft: bulletins.BulletinDraft) -> None:
    """Raise Invalid now for a draft a background job would refuse (so the form can show it at once)."""
    settings = station.settings
    with station.db.session() as session:
        clean = bulletins.validate_draft(session, draft, settings.speech, settings.limits)
        tenancy.scope_zones(session, user, clean.zones)
