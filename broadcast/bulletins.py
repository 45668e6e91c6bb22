"""Bulletin workflow: write (text is read aloud for preview) -> approve -> ready to air."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcast import audit, domain
from broadcast.accounts import Principal
from broadcast.clips import ClipStore
from broadcast.config import Settings
from broadcast.rendering import render_bulletin
from broadcast.storage.models import Bulletin, Clip, Zone


@dataclass(frozen=True)
class BulletinDraft:
    """What an officer submits."""

    title: str
    text: str
    priority: str
    zones: list[str]
    engine: str | None = None
    voice: str | None = None


def known_zones(session: Session) -> set[str]:
    return set(session.scalars(select(Zone.id)))


def validate_draft(session: Session, draft: BulletinDraft, settings: Settings) -> BulletinDraft:
    """Return the cleaned draft or raise Invalid with a message the officer can act on."""
    return BulletinDraft(
        title=domain.clean_text(draft.title, field="Tiêu đề", max_chars=domain.MAX_TITLE_CHARS),
        text=domain.clean_text(draft.text, field="Nội dung", max_chars=settings.max_text_chars),
        priority=domain.check_priority(draft.priority),
        zones=domain.check_zones(draft.zones, known_zones(session)),
        engine=draft.engine or settings.tts_engine,
        voice=draft.voice or settings.tts_voice,
    )


def create_bulletin(
    session: Session,
    clips: ClipStore,
    settings: Settings,
    author: Principal,
    draft: BulletinDraft,
    address: str,
) -> Bulletin:
    """Validate, synthesise and store a new draft bulletin; nothing is stored if any step fails."""
    clean = validate_draft(session, draft, settings)
    assert clean.engine is not None
    from broadcast.audio import ffmpeg_exe

    rendered = render_bulletin(
        clean.text,
        engine=clean.engine,
        voice=clean.voice,
        ffmpeg=ffmpeg_exe(settings.ffmpeg_bin),
        target_lufs=settings.loudness_lufs,
        bitrate=settings.mp3_bitrate,
    )
    sha = clips.put(rendered.clip.data)
    if session.get(Clip, sha) is None:
        session.add(
            Clip(
                sha256=sha,
                size=len(rendered.clip.data),
                duration_s=rendered.clip.duration_s,
                loudness_lufs=rendered.clip.loudness_lufs,
            )
        )
        session.flush()  # the bulletin row references it
    bulletin = Bulletin(
        title=clean.title,
        text=clean.text,
        spoken_text=rendered.spoken_text,
        priority=clean.priority,
        zones=clean.zones,
        status=domain.BulletinStatus.DRAFT,
        clip_sha256=sha,
        engine=rendered.engine,
        voice=rendered.voice,
        created_by=author.user_id,
    )
    session.add(bulletin)
    session.flush()
    audit.record(
        session, author.name, "bulletin.create", f"bulletin:{bulletin.id}", address, title=clean.title
    )
    return bulletin


def get_bulletin(session: Session, bulletin_id: int) -> Bulletin:
    bulletin = session.get(Bulletin, bulletin_id)
    if bulletin is None:
        raise domain.NotFound(f"Không tìm thấy bản tin số {bulletin_id}.")
    return bulletin


def approve_bulletin(session: Session, approver: Principal, bulletin_id: int, address: str) -> Bulletin:
    """Mark a bulletin ready to air; only an approver or admin may (enforced here, not in the UI)."""
    if not domain.can_approve(approver.role):
        raise domain.Forbidden("Chỉ người duyệt hoặc quản trị viên mới được duyệt bản tin.")
    bulletin = get_bulletin(session, bulletin_id)
    if bulletin.status == domain.BulletinStatus.READY:
        return bulletin
    bulletin.status = domain.BulletinStatus.READY
    bulletin.approved_by = approver.user_id
    bulletin.approved_at = datetime.now(UTC)
    audit.record(session, approver.name, "bulletin.approve", f"bulletin:{bulletin.id}", address)
    return bulletin


def list_bulletins(session: Session, status: str | None = None, limit: int = 100) -> list[Bulletin]:
    query = select(Bulletin).order_by(Bulletin.id.desc()).limit(limit)
    if status:
        query = query.where(Bulletin.status == status)
    return list(session.scalars(query))
