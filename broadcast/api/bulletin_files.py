"""Bulletin routes that take files: a recorded MP3/WAV instead of the machine voice, an import of many."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile, status

from broadcast import bulletins
from broadcast.api.bulletins import bulletin_out
from broadcast.api.jobs import JobOut, job_out
from broadcast.api.schemas import BulletinOut
from broadcast.bulletins import edits as bulletin_edits
from broadcast.bulletins import importing as bulletin_import
from broadcast.bulletins import jobs as bulletin_jobs
from broadcast.bulletins import uploads
from broadcast.config import InputLimits, SpeechSettings
from broadcast.http.deps import AddressDep, StationDep, UserDep
from broadcast.http.uploads import read_file

router = APIRouter(prefix="/api/bulletins", tags=["bulletins"])


def _sections(station: StationDep) -> tuple[SpeechSettings, InputLimits]:
    """Return the settings sections a recording or an import is checked and made with."""
    return station.settings.speech, station.settings.limits


def split_zones(zones: list[str] | None) -> list[str]:
    """Return zones given as repeated fields and/or comma-separated values."""
    return [z.strip() for value in zones or [] for z in value.split(",") if z.strip()]


@router.post("/upload", status_code=status.HTTP_201_CREATED)
def upload_bulletin(
    station: StationDep,
    user: UserDep,
    address: AddressDep,
    audio: Annotated[UploadFile, File(description="Bản ghi âm MP3 hoặc WAV")],
    title: Annotated[str, Form(description="Tiêu đề bản tin")],
    zones: Annotated[list[str], Form(description="Vùng phát (lặp lại trường, hoặc cách nhau dấu phẩy)")],
    text: Annotated[str, Form(description="Ghi chú / nội dung tóm tắt (không đọc)")] = "",
    priority: Annotated[str, Form()] = "normal",
) -> BulletinOut:
    """Write a bulletin whose audio is a recorded file: checked, then chime + loudness + mono MP3."""
    filename, data = read_file(audio, station.settings.upload_max_bytes)
    draft = bulletins.BulletinDraft(title, text, priority, split_zones(zones))
    with station.db.session() as session:
        bulletin = bulletin_edits.create_uploaded_bulletin(
            session, station.clips, *_sections(station), user, draft, uploads.Upload(filename, data), address
        )
    return bulletin_out(station, bulletin)


@router.put("/{bulletin_id}/audio")
def replace_audio(
    bulletin_id: int,
    station: StationDep,
    user: UserDep,
    address: AddressDep,
    audio: Annotated[UploadFile, File(description="Bản ghi âm MP3 hoặc WAV")],
) -> BulletinOut:
    """Use a recorded file as the audio of a waiting or sent-back bulletin."""
    filename, data = read_file(audio, station.settings.upload_max_bytes)
    with station.db.session() as session:
        bulletin = bulletin_edits.replace_audio(
            session,
            station.clips,
            *_sections(station),
            user,
            bulletin_id,
            uploads.Upload(filename, data),
            address,
        )
    return bulletin_out(station, bulletin)


@router.post("/import", status_code=status.HTTP_202_ACCEPTED)
def import_bulletins(
    station: StationDep,
    user: UserDep,
    address: AddressDep,
    file: Annotated[UploadFile, File(description=".csv (title, text, zones, priority) hoặc .txt")],
    zones: Annotated[list[str] | None, Form(description="Vùng cho các dòng không ghi vùng")] = None,
    priority: Annotated[str, Form()] = "normal",
) -> JobOut:
    """Import many bulletins; the file is checked now (nothing kept on error), then read in the background."""
    filename, data = read_file(file, station.settings.import_max_bytes)
    with station.db.session() as session:
        rows = bulletin_import.parse_import(
            session, user, *_sections(station), filename, data, split_zones(zones), priority
        )
    return job_out(station, bulletin_jobs.start_import(station, user, rows, filename, address), user)
