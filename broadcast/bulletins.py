"""Bulletin workflow: write (text is read aloud for preview) -> approve -> ready to air."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcast import audit, dictionary, domain
from broadcast.accounts import Principal
from broadcast.clips import ClipStore
from broadcast.config import Settings
from broadcast.rendering import RenderedBulletin, render_bulletin, render_options
from broadcast.storage.models import Bulletin, Clip, Zone
from broadcast.tts import unknown_abbreviations


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


def _render_and_store(
    session: Session, clips: ClipStore, settings: Settings, text: str, engine: str, voice: str | None
) -> tuple[RenderedBulletin, str]:
    """Read `text` with the commune's dictionary, store the clip (file + row), return it and its sha256."""
    options = replace(render_options(settings, engine, voice), extra=dictionary.commune_dictionary(session))
    rendered = render_bulletin(text, options)
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
    return rendered, sha


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
    rendered, sha = _render_and_store(session, clips, settings, clean.text, clean.engine, clean.voice)
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


def rerender_bulletin(
    session: Session, clips: ClipStore, settings: Settings, user: Principal, bulletin_id: int, address: str
) -> Bulletin:
    """Read a bulletin again (e.g. after the commune dictionary changed).

    If what will be heard changes, the bulletin goes back to draft: an approval covers the audio approved.
    """
    bulletin = get_bulletin(session, bulletin_id)
    rendered, sha = _render_and_store(
        session, clips, settings, bulletin.text, bulletin.engine, bulletin.voice
    )
    if sha != bulletin.clip_sha256:
        bulletin.clip_sha256 = sha
        bulletin.spoken_text = rendered.spoken_text
        bulletin.engine, bulletin.voice = rendered.engine, rendered.voice
        if bulletin.status == domain.BulletinStatus.READY:
            bulletin.status = domain.BulletinStatus.DRAFT
            bulletin.approved_by = None
            bulletin.approved_at = None
    audit.record(session, user.name, "bulletin.render", f"bulletin:{bulletin.id}", address, clip=sha)
    return bulletin


def unknown_terms(session: Session, bulletin: Bulletin) -> list[str]:
    """Return the abbreviations the machine will spell letter by letter in this bulletin."""
    return unknown_abbreviations(bulletin.text, dictionary.commune_dictionary(session))


def list_bulletins(session: Session, status: str | None = None, limit: int = 100) -> list[Bulletin]:
    query = select(Bulletin).order_by(Bulletin.id.desc()).limit(limit)
    if status:
        query = query.where(Bulletin.status == status)
    return list(session.scalars(query))
