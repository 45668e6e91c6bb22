"""Bulletin workflow: write (text is read aloud for preview) -> approve -> ready to air."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session

from broadcast import domain
from broadcast.audio import EncodedClip
from broadcast.bulletins import dictionary
from broadcast.bulletins.history import Action, record
from broadcast.clipstore.rendering import RenderedBulletin, render_bulletin, render_options
from broadcast.clipstore.store import ClipStorage
from broadcast.config import InputLimits, SpeechSettings
from broadcast.people import audit, tenancy
from broadcast.people.accounts import Principal
from broadcast.storage.db import Database
from broadcast.storage.models import Bulletin, Clip, Zone
from broadcast.tts import unknown_abbreviations
from broadcast.tts.numbers import check_number_lengths
from broadcast.tts.synthesis import Progress

EDITED_MEANWHILE = (
    "Bản tin vừa được sửa trong lúc máy đọc lại; bản đọc cũ chưa được lưu. Hãy bấm «Đọc lại» một lần nữa."
)


@dataclass(frozen=True)
class BulletinDraft:
    """What an officer submits."""

    title: str
    text: str
    priority: str
    zones: list[str]
    engine: str | None = None
    voice: str | None = None
    keep_as_draft: bool = False  # "Lưu nháp": stored unsent, only its author sees it; sent later


def first_status(draft: BulletinDraft) -> str:
    """Return the status a new bulletin starts in: unsent if its author keeps it as a draft, else waiting."""
    return domain.BulletinStatus.UNSENT if draft.keep_as_draft else domain.BulletinStatus.DRAFT


def known_zones(session: Session) -> set[str]:
    return set(session.scalars(select(Zone.id)))


def validate_draft(
    session: Session, draft: BulletinDraft, speech: SpeechSettings, limits: InputLimits
) -> BulletinDraft:
    """Return the cleaned draft or raise Invalid (or NumberTooLong) with a message the officer can act on."""
    text = domain.clean_text(draft.text, field="Nội dung", max_chars=limits.max_text_chars)
    check_number_lengths(text)  # refused before any synthesis starts, also for background jobs
    engine = draft.engine or speech.tts_engine
    # The station's default voice belongs to the default engine: another engine chosen in the form reads
    # with its own default voice rather than being handed a voice name it does not know.
    voice = draft.voice or (speech.tts_voice if engine == speech.tts_engine else "")
    return BulletinDraft(
        title=domain.clean_text(draft.title, field="Tiêu đề", max_chars=domain.MAX_TITLE_CHARS),
        text=text,
        priority=domain.check_priority(draft.priority),
        zones=domain.check_zones(draft.zones, known_zones(session)),
        engine=engine,
        voice=voice,
        keep_as_draft=draft.keep_as_draft,
    )


def store_clip(session: Session, clips: ClipStorage, clip: EncodedClip) -> str:
    """Store a clip (file + row) and return its sha256; the same bytes are stored once."""
    sha = clips.put(clip.data)
    if session.get(Clip, sha) is None:
        session.add(
            Clip(
                sha256=sha, size=len(clip.data), duration_s=clip.duration_s, loudness_lufs=clip.loudness_lufs
            )
        )
        session.flush()  # the bulletin row references it
    return sha


def add_draft(
    session: Session, clips: ClipStorage, author: Principal, draft: BulletinDraft, rendered: RenderedBulletin
) -> Bulletin:
    """Store a checked draft read aloud as `rendered`, in the author's scope; return it with its id."""
    zones, commune = tenancy.scope_zones(session, author, draft.zones)
    bulletin = Bulletin(
        title=draft.title,
        text=draft.text,
        spoken_text=rendered.spoken_text,
        priority=draft.priority,
        zones=zones,
        commune_id=commune,
        status=first_status(draft),
        clip_sha256=store_clip(session, clips, rendered.clip),
        engine=rendered.engine,
        voice=rendered.voice,
        created_by=author.user_id,
    )
    session.add(bulletin)
    session.flush()
    return bulletin


def read_aloud(
    speech: SpeechSettings,
    text: str,
    engine: str,
    voice: str | None,
    extra: Mapping[str, str],
    progress: Progress | None = None,
) -> RenderedBulletin:
    """Read `text` with the commune's dictionary `extra`: online engines, seconds; no transaction open."""
    options = replace(render_options(speech, engine, voice), extra=extra)
    return render_bulletin(text, options, progress)


def create_bulletin(
    db: Database,
    clips: ClipStorage,
    speech: SpeechSettings,
    limits: InputLimits,
    author: Principal,
    draft: BulletinDraft,
    address: str,
    progress: Progress | None = None,
) -> Bulletin:
    """Validate, synthesise and store a new draft bulletin; nothing is stored if any step fails.

    The draft is checked in a short transaction, read aloud with none open (an online voice may take
    seconds), then checked again and stored in a second one.
    """
    with db.session() as session:
        clean = validate_draft(session, draft, speech, limits)
        tenancy.scope_zones(session, author, clean.zones)  # another commune's zone: unknown
        extra = dictionary.commune_dictionary(session)
    assert clean.engine is not None
    rendered = read_aloud(speech, clean.text, clean.engine, clean.voice, extra, progress)
    with db.session() as session:
        clean = validate_draft(session, draft, speech, limits)  # a zone may have gone meanwhile
        bulletin = add_draft(session, clips, author, clean, rendered)
        audit.record(
            session, author.name, "bulletin.create", f"bulletin:{bulletin.id}", address, title=clean.title
        )
        record(
            session,
            bulletin.id,
            author.name,
            Action.CREATED,
            engine=rendered.engine,
            voice=rendered.voice,
            draft=clean.keep_as_draft,
        )
    return bulletin


def get_bulletin(session: Session, bulletin_id: int, viewer: Principal | None = None) -> Bulletin:
    """Return the bulletin; another commune's is answered as missing (viewer None: no scoping)."""
    bulletin = session.get(Bulletin, bulletin_id)
    missing = f"Không tìm thấy bản tin số {bulletin_id}."
    if bulletin is None or not visible_draft(bulletin.status, bulletin.created_by, viewer):
        raise domain.NotFound(missing)
    tenancy.check_visible(viewer, bulletin.commune_id, missing)
    return bulletin


def visible_draft(status: str, author_id: int, viewer: Principal | None) -> bool:
    """Return True unless the bulletin is another user's unsent draft (viewer None: no scoping)."""
    return viewer is None or status != domain.BulletinStatus.UNSENT or author_id == viewer.user_id


def claim(session: Session, bulletin: Bulletin, statuses: Collection[str], now: datetime, lost: str) -> None:
    """Take the bulletin for a change only if nobody changed it since it was read; else raise Conflict.

    Every change sets updated_at, so an approval and an edit (which reads for seconds) racing each other
    cannot both land: the second finds the row changed and changes nothing.
    """
    seen = bulletin.updated_at
    same = Bulletin.updated_at.is_(None) if seen is None else Bulletin.updated_at == seen
    stmt = (
        update(Bulletin)
        .where(Bulletin.id == bulletin.id, Bulletin.status.in_(list(statuses)), same)
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if not session.execute(stmt).rowcount:  # type: ignore[attr-defined]
        raise domain.Conflict(lost)
    bulletin.updated_at = now


def version_of(bulletin: Bulletin) -> str:
    """Return the bulletin's version: it changes whenever what an approver hears or reads changes."""
    return domain.content_version(
        bulletin.title,
        bulletin.text,
        bulletin.priority,
        list(bulletin.zones),
        bulletin.clip_sha256,
        bulletin.source,
    )


def approve_bulletin(
    session: Session, approver: Principal, bulletin_id: int, address: str, reviewed: str | None = None
) -> Bulletin:
    """Mark a bulletin ready to air; only an approver or admin may (enforced here, not in the UI).

    `reviewed` is the version the approver heard; if the bulletin changed since, nothing is approved
    (None: the client named no version, and the current one is approved, as before versions existed).
    """
    if not domain.can_approve(approver.role):
        raise domain.Forbidden("Chỉ người duyệt hoặc quản trị viên mới được duyệt bản tin.")
    bulletin = get_bulletin(session, bulletin_id, approver)
    tenancy.check_may_change(session, approver, bulletin.zones)
    if bulletin.status == domain.BulletinStatus.REJECTED:
        raise domain.Conflict("Bản tin đã bị trả lại: người soạn cần sửa và gửi duyệt lại trước khi duyệt.")
    if bulletin.status == domain.BulletinStatus.UNSENT:
        raise domain.Conflict("Bản tin còn là bản nháp: người soạn cần bấm «Gửi duyệt» trước khi duyệt.")
    version = version_of(bulletin)
    domain.check_reviewed(version, reviewed)
    if bulletin.status == domain.BulletinStatus.READY:
        return bulletin
    now = datetime.now(UTC)
    claim(session, bulletin, [domain.BulletinStatus.DRAFT], now, domain.STALE_VERSION)
    bulletin.status = domain.BulletinStatus.READY
    bulletin.approved_by = approver.user_id
    bulletin.approved_at = now
    audit.record(
        session, approver.name, "bulletin.approve", f"bulletin:{bulletin.id}", address, version=version
    )
    record(
        session,
        bulletin.id,
        approver.name,
        Action.APPROVED,
        clip=bulletin.clip_sha256,
        version=version,
        reviewed=reviewed is not None,  # False: an API client approved without naming what it heard
    )
    return bulletin


def _to_rerender(session: Session, user: Principal, bulletin_id: int) -> Bulletin:
    """Return the bulletin `user` asks to read again, or raise why it cannot be."""
    bulletin = get_bulletin(session, bulletin_id, user)
    tenancy.check_may_change(session, user, bulletin.zones)
    if bulletin.source == "upload":
        raise domain.Conflict("Bản tin này là bản ghi âm tải lên, máy không đọc lại được.")
    return bulletin


def rerender_bulletin(
    db: Database,
    clips: ClipStorage,
    speech: SpeechSettings,
    user: Principal,
    bulletin_id: int,
    address: str,
    progress: Progress | None = None,
) -> Bulletin:
    """Read a bulletin again (e.g. after the commune dictionary changed).

    If what will be heard changes, the bulletin goes back to draft: an approval covers the audio approved.
    The reading runs between two short transactions; if the text was edited meanwhile, nothing is stored.
    """
    with db.session() as session:
        seen = _to_rerender(session, user, bulletin_id)
        extra = dictionary.commune_dictionary(session)
    rendered = read_aloud(speech, seen.text, seen.engine, seen.voice, extra, progress)
    with db.session() as session:
        bulletin = _to_rerender(session, user, bulletin_id)
        if (bulletin.text, bulletin.engine, bulletin.voice) != (seen.text, seen.engine, seen.voice):
            raise domain.Conflict(EDITED_MEANWHILE)
        sha = store_clip(session, clips, rendered.clip)
        changed = sha != bulletin.clip_sha256
        if changed:
            bulletin.updated_at = datetime.now(UTC)
            bulletin.clip_sha256 = sha
            bulletin.spoken_text = rendered.spoken_text
            bulletin.engine, bulletin.voice = rendered.engine, rendered.voice
            if bulletin.status == domain.BulletinStatus.READY:
                bulletin.status = domain.BulletinStatus.DRAFT
                bulletin.approved_by = None
                bulletin.approved_at = None
        audit.record(session, user.name, "bulletin.render", f"bulletin:{bulletin.id}", address, clip=sha)
        record(session, bulletin.id, user.name, Action.RERENDERED, changed=changed, clip=sha)
    return bulletin


def unknown_terms(session: Session, bulletin: Bulletin) -> list[str]:
    """Return the abbreviations the machine will spell letter by letter in this bulletin."""
    if bulletin.source == "upload":
        return []  # a recording is heard as recorded: its text is only a note
    return unknown_abbreviations(bulletin.text, dictionary.commune_dictionary(session))


def _filters(status: str | None, viewer: Principal | None) -> list[ColumnElement[bool]]:
    """Return a list's where-clauses: the viewer's commune (None: every commune) and a status."""
    found = [] if viewer is None else [tenancy.commune_filter(Bulletin.commune_id, viewer)]
    if viewer is not None:  # another user's unsent draft is theirs alone
        unsent = Bulletin.status == domain.BulletinStatus.UNSENT
        found.append(or_(~unsent, Bulletin.created_by == viewer.user_id))
    return found + ([Bulletin.status == status] if status else [])


def list_bulletins(
    session: Session,
    status: str | None = None,
    limit: int = 100,
    viewer: Principal | None = None,
    offset: int = 0,
    before_id: int | None = None,
) -> list[Bulletin]:
    """Return the newest bulletins first, only the viewer's commune's (viewer None: every commune)."""
    query = select(Bulletin).where(*_filters(status, viewer))
    if before_id is not None:
        query = query.where(Bulletin.id < before_id)
    return list(session.scalars(query.order_by(Bulletin.id.desc()).offset(offset).limit(limit)))


def list_with_durations(
    session: Session,
    status: str | None,
    viewer: Principal | None,
    limit: int,
    offset: int = 0,
    before_id: int | None = None,
) -> list[tuple[Bulletin, float]]:
    """Return one page, newest first, each bulletin with its clip's length: one query, not one per row."""
    joined = select(Bulletin, Clip.duration_s).outerjoin(Clip, Clip.sha256 == Bulletin.clip_sha256)
    query = joined.where(*_filters(status, viewer))
    if before_id is not None:
        query = query.where(Bulletin.id < before_id)
    rows = session.execute(query.order_by(Bulletin.id.desc()).offset(offset).limit(limit))
    return [(bulletin, duration or 0.0) for bulletin, duration in rows]


def count_bulletins(session: Session, status: str | None = None, viewer: Principal | None = None) -> int:
    """Return how many bulletins a list with these filters holds across all its pages."""
    return session.scalar(select(func.count(Bulletin.id)).where(*_filters(status, viewer))) or 0
