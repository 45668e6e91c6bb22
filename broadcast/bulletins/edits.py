"""Changing a bulletin before approval: edit its text (read again), or give it a recorded file instead."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from broadcast import domain
from broadcast.bulletins import dictionary, uploads
from broadcast.bulletins.history import Action, edit_detail, record
from broadcast.bulletins.review import EDITABLE, check_editable
from broadcast.bulletins.workflow import BulletinDraft, claim, get_bulletin, store_clip
from broadcast.clipstore.rendering import render_bulletin, render_options
from broadcast.clipstore.store import ClipStorage
from broadcast.config import Settings
from broadcast.people import audit, tenancy
from broadcast.people.accounts import Principal
from broadcast.storage.models import Bulletin
from broadcast.tts.numbers import check_number_lengths
from broadcast.tts.synthesis import Progress

UPLOAD_ENGINE = "upload"  # bulletins.engine of a recorded bulletin: no machine voice read it
CHANGED_MEANWHILE = (
    "Bản tin vừa được người khác duyệt hoặc sửa trong lúc máy đọc lại; thay đổi của bạn chưa được lưu. "
    "Hãy mở lại bản tin rồi sửa."
)


def _clean_fields(
    session: Session, user: Principal, draft: BulletinDraft, settings: Settings, *, text_required: bool
) -> tuple[str, str, str, list[str], str]:
    """Return (title, text, priority, zones, commune) of a draft, or raise Invalid."""
    title = domain.clean_text(draft.title, field="Tiêu đề", max_chars=domain.MAX_TITLE_CHARS)
    text = draft.text
    if text_required or text.strip():
        text = domain.clean_text(text, field="Nội dung", max_chars=settings.max_text_chars)
        check_number_lengths(text)
    else:
        text = ""  # a recording needs no text; a note or transcript is welcome
    priority = domain.check_priority(draft.priority)
    zones, commune = tenancy.scope_zones(session, user, draft.zones)
    return title, text, priority, zones, commune


def edit_bulletin(
    session: Session,
    clips: ClipStorage,
    settings: Settings,
    user: Principal,
    bulletin_id: int,
    draft: BulletinDraft,
    address: str,
    progress: Progress | None = None,
) -> Bulletin:
    """Change a waiting or sent-back bulletin; a changed text is read again. Nothing changes on error."""
    bulletin = get_bulletin(session, bulletin_id, user)
    tenancy.check_may_change(session, user, bulletin.zones)
    check_editable(bulletin)
    recorded = bulletin.source == "upload"
    title, text, priority, zones, commune = _clean_fields(
        session, user, draft, settings, text_required=not recorded
    )
    engine = bulletin.engine if recorded else (draft.engine or bulletin.engine)
    voice = draft.voice or (bulletin.voice if engine == bulletin.engine else "")
    before: dict[str, Any] = {
        "title": bulletin.title,
        "text": bulletin.text,
        "priority": bulletin.priority,
        "zones": list(bulletin.zones),
        "engine": bulletin.engine,
        "voice": bulletin.voice,
    }
    after = {**before, "title": title, "text": text, "priority": priority, "zones": zones, "engine": engine}
    if draft.voice:
        after["voice"] = voice
    detail = edit_detail(before, after)
    if not detail["fields"]:
        return bulletin  # nothing changed: no new history entry
    rendered = None
    if not recorded and {"text", "engine", "voice"} & set(detail["fields"]):
        options = render_options(settings, engine, voice or None)
        options = replace(options, extra=dictionary.commune_dictionary(session))
        rendered = render_bulletin(text, options, progress)  # seconds: an approval may land meanwhile
    claim(session, bulletin, EDITABLE, datetime.now(UTC), CHANGED_MEANWHILE)
    if rendered is not None:
        bulletin.clip_sha256 = store_clip(session, clips, rendered.clip)
        bulletin.spoken_text = rendered.spoken_text
        bulletin.engine, bulletin.voice = rendered.engine, rendered.voice
        detail["clip"] = bulletin.clip_sha256
    bulletin.title, bulletin.text, bulletin.priority = title, text, priority
    bulletin.zones, bulletin.commune_id = zones, commune
    audit.record(session, user.name, "bulletin.edit", f"bulletin:{bulletin.id}", address, **detail)
    record(session, bulletin.id, user.name, Action.EDITED, **detail)
    return bulletin


def _recording(session: Session, clips: ClipStorage, upload: uploads.NormalisedUpload) -> dict[str, Any]:
    """Store the recording's clip; return the bulletin fields it sets."""
    return {
        "clip_sha256": store_clip(session, clips, upload.clip),
        "source": "upload",
        "spoken_text": uploads.SPOKEN_PLACEHOLDER,
        "engine": UPLOAD_ENGINE,
        "voice": "",
    }


def _upload_detail(upload: uploads.NormalisedUpload, size: int) -> dict[str, Any]:
    return {
        "filename": upload.filename,
        "format": upload.format,
        "size": size,
        "duration_s": round(upload.source_s, 1),
    }


def create_uploaded_bulletin(
    session: Session,
    clips: ClipStorage,
    settings: Settings,
    author: Principal,
    draft: BulletinDraft,
    upload: uploads.Upload,
    address: str,
) -> Bulletin:
    """Store a new draft bulletin whose audio is a recorded MP3/WAV (checked, then normalised)."""
    title, text, priority, zones, commune = _clean_fields(
        session, author, draft, settings, text_required=False
    )
    normalised = uploads.normalise(upload, settings)
    bulletin = Bulletin(
        title=title,
        text=text,
        priority=priority,
        zones=zones,
        commune_id=commune,
        status=domain.BulletinStatus.DRAFT,
        created_by=author.user_id,
        **_recording(session, clips, normalised),
    )
    session.add(bulletin)
    session.flush()
    detail = _upload_detail(normalised, len(upload.data))
    audit.record(session, author.name, "bulletin.upload", f"bulletin:{bulletin.id}", address, **detail)
    record(session, bulletin.id, author.name, Action.UPLOADED, **detail)
    return bulletin


def replace_audio(
    session: Session,
    clips: ClipStorage,
    settings: Settings,
    user: Principal,
    bulletin_id: int,
    upload: uploads.Upload,
    address: str,
) -> Bulletin:
    """Give a waiting or sent-back bulletin a recorded file as its audio (instead of the machine voice)."""
    bulletin = get_bulletin(session, bulletin_id, user)
    tenancy.check_may_change(session, user, bulletin.zones)
    check_editable(bulletin)
    normalised = uploads.normalise(upload, settings)
    claim(session, bulletin, EDITABLE, datetime.now(UTC), CHANGED_MEANWHILE)
    for name, value in _recording(session, clips, normalised).items():
        setattr(bulletin, name, value)
    detail = _upload_detail(normalised, len(upload.data))
    audit.record(session, user.name, "bulletin.upload", f"bulletin:{bulletin.id}", address, **detail)
    record(session, bulletin.id, user.name, Action.UPLOADED, **detail)
    return bulletin
