"""Changing a bulletin before approval: edit its text (read again), or give it a recorded file instead."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from broadcast import domain
from broadcast.bulletins import dictionary, uploads
from broadcast.bulletins.history import Action, edit_detail, record
from broadcast.bulletins.review import EDITABLE, check_editable
from broadcast.bulletins.workflow import (
    BulletinDraft,
    claim,
    first_status,
    get_bulletin,
    read_aloud,
    store_clip,
)
from broadcast.clipstore.rendering import RenderedBulletin
from broadcast.clipstore.store import ClipStorage
from broadcast.config import InputLimits, SpeechSettings
from broadcast.people import audit, tenancy
from broadcast.people.accounts import Principal
from broadcast.storage.db import Database
from broadcast.storage.models import Bulletin
from broadcast.tts.numbers import check_number_lengths
from broadcast.tts.synthesis import Progress

UPLOAD_ENGINE = "upload"  # bulletins.engine of a recorded bulletin: no machine voice read it
CHANGED_MEANWHILE = (
    "Bản tin vừa được người khác duyệt hoặc sửa trong lúc máy đọc lại; thay đổi của bạn chưa được lưu. "
    "Hãy mở lại bản tin rồi sửa."
)


def _clean_fields(
    session: Session, user: Principal, draft: BulletinDraft, limits: InputLimits, *, text_required: bool
) -> tuple[str, str, str, list[str], str]:
    """Return (title, text, priority, zones, commune) of a draft, or raise Invalid."""
    title = domain.clean_text(draft.title, field="Tiêu đề", max_chars=domain.MAX_TITLE_CHARS)
    text = draft.text
    if text_required or text.strip():
        text = domain.clean_text(text, field="Nội dung", max_chars=limits.max_text_chars)
        check_number_lengths(text)
    else:
        text = ""  # a recording needs no text; a note or transcript is welcome
    priority = domain.check_priority(draft.priority)
    zones, commune = tenancy.scope_zones(session, user, draft.zones)
    return title, text, priority, zones, commune


@dataclass(frozen=True)
class _Edit:
    """What an edit changes, worked out from the bulletin as it was read."""

    bulletin: Bulletin
    fields: tuple[str, str, str, list[str], str]  # title, text, priority, zones, commune
    engine: str
    voice: str
    detail: dict[str, Any]

    @property
    def reads(self) -> bool:
        """Return True if the edit must be read aloud again (a machine-read text or its voice changed)."""
        changed = set(self.detail["fields"])
        return self.bulletin.source != "upload" and bool({"text", "engine", "voice"} & changed)


def _plan_edit(
    session: Session, limits: InputLimits, user: Principal, bulletin_id: int, draft: BulletinDraft
) -> _Edit:
    """Check that `user` may make this edit now and return what it changes."""
    bulletin = get_bulletin(session, bulletin_id, user)
    tenancy.check_may_change(session, user, bulletin.zones)
    check_editable(bulletin)
    recorded = bulletin.source == "upload"
    cleaned = _clean_fields(session, user, draft, limits, text_required=not recorded)
    title, text, priority, zones, _ = cleaned
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
    return _Edit(bulletin, cleaned, engine, voice, edit_detail(before, after))


def edit_bulletin(
    db: Database,
    clips: ClipStorage,
    speech: SpeechSettings,
    limits: InputLimits,
    user: Principal,
    bulletin_id: int,
    draft: BulletinDraft,
    address: str,
    progress: Progress | None = None,
    then: Callable[[Session, Bulletin], Bulletin] | None = None,
) -> Bulletin:
    """Change a waiting or sent-back bulletin; a changed text is read again. Nothing changes on error.

    The edit is checked in a short transaction, read aloud with none open (seconds: an approval may land
    meanwhile, and the edit is then refused), and stored in a second transaction, in which `then` (a new
    recording, submitting again) runs too: all of it lands, or none.
    """
    with db.session() as session:
        planned = _plan_edit(session, limits, user, bulletin_id, draft)
        extra = dictionary.commune_dictionary(session) if planned.reads else {}
    rendered = None
    if planned.reads:
        text, engine, voice = planned.fields[1], planned.engine, planned.voice or None
        rendered = read_aloud(speech, text, engine, voice, extra, progress)
    with db.session() as session:
        if get_bulletin(session, bulletin_id, user).updated_at != planned.bulletin.updated_at:
            raise domain.Conflict(CHANGED_MEANWHILE)  # approved or changed while it was read aloud
        edit = _plan_edit(session, limits, user, bulletin_id, draft)  # the same checks, on the same row
        bulletin = edit.bulletin
        if edit.detail["fields"]:
            _store_edit(session, clips, user, edit, rendered, address)
        if then is not None:
            bulletin = then(session, bulletin)
    return bulletin


def _store_edit(
    session: Session,
    clips: ClipStorage,
    user: Principal,
    edit: _Edit,
    rendered: RenderedBulletin | None,
    address: str,
) -> None:
    bulletin, detail = edit.bulletin, edit.detail
    claim(session, bulletin, EDITABLE, datetime.now(UTC), CHANGED_MEANWHILE)
    if rendered is not None:
        bulletin.clip_sha256 = store_clip(session, clips, rendered.clip)
        bulletin.spoken_text = rendered.spoken_text
        bulletin.engine, bulletin.voice = rendered.engine, rendered.voice
        detail["clip"] = bulletin.clip_sha256
    title, text, priority, zones, commune = edit.fields
    bulletin.title, bulletin.text, bulletin.priority = title, text, priority
    bulletin.zones, bulletin.commune_id = zones, commune
    audit.record(session, user.name, "bulletin.edit", f"bulletin:{bulletin.id}", address, **detail)
    record(session, bulletin.id, user.name, Action.EDITED, **detail)


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
    speech: SpeechSettings,
    limits: InputLimits,
    author: Principal,
    draft: BulletinDraft,
    upload: uploads.Upload,
    address: str,
) -> Bulletin:
    """Store a new draft bulletin whose audio is a recorded MP3/WAV (checked, then normalised)."""
    title, text, priority, zones, commune = _clean_fields(session, author, draft, limits, text_required=False)
    normalised = uploads.normalise(upload, speech, limits)
    bulletin = Bulletin(
        title=title,
        text=text,
        priority=priority,
        zones=zones,
        commune_id=commune,
        status=first_status(draft),
        created_by=author.user_id,
        **_recording(session, clips, normalised),
    )
    session.add(bulletin)
    session.flush()
    detail = _upload_detail(normalised, len(upload.data))
    audit.record(session, author.name, "bulletin.upload", f"bulletin:{bulletin.id}", address, **detail)
    record(session, bulletin.id, author.name, Action.UPLOADED, draft=draft.keep_as_draft, **detail)
    return bulletin


def replace_audio(
    session: Session,
    clips: ClipStorage,
    speech: SpeechSettings,
    limits: InputLimits,
    user: Principal,
    bulletin_id: int,
    upload: uploads.Upload,
    address: str,
) -> Bulletin:
    """Give a waiting or sent-back bulletin a recorded file as its audio (instead of the machine voice)."""
    bulletin = get_bulletin(session, bulletin_id, user)
    tenancy.check_may_change(session, user, bulletin.zones)
    check_editable(bulletin)
    normalised = uploads.normalise(upload, speech, limits)
    claim(session, bulletin, EDITABLE, datetime.now(UTC), CHANGED_MEANWHILE)
    for name, value in _recording(session, clips, normalised).items():
        setattr(bulletin, name, value)
    detail = _upload_detail(normalised, len(upload.data))
    audit.record(session, user.name, "bulletin.upload", f"bulletin:{bulletin.id}", address, **detail)
    record(session, bulletin.id, user.name, Action.UPLOADED, **detail)
    return bulletin
