"""What the bulletin pages read beside a bulletin: its recording, the slots that air it, its plays."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcast.people import tenancy
from broadcast.people.accounts import Principal
from broadcast.storage.models import Bulletin, Clip, Play, Slot, SlotItem


def clip_of(session: Session, bulletin: Bulletin) -> Clip | None:
    """Return the recording a bulletin airs, or None if it is gone."""
    return session.get(Clip, bulletin.clip_sha256)


def clips_of(session: Session, bulletins: Iterable[Bulletin]) -> dict[str, Clip]:
    """Return the recordings of these bulletins by their sha256."""
    shas = {b.clip_sha256 for b in bulletins}
    return {c.sha256: c for c in session.scalars(select(Clip).where(Clip.sha256.in_(shas)))}


def airing_slots(session: Session, bulletin_id: int, viewer: Principal) -> list[Slot]:
    """Return the active slots (of the viewer's commune) that air a bulletin, by id."""
    query = (
        select(Slot)
        .join(SlotItem, SlotItem.slot_id == Slot.id)
        .where(
            SlotItem.bulletin_id == bulletin_id,
            Slot.active.is_(True),
            tenancy.commune_filter(Slot.commune_id, viewer),
        )
        .order_by(Slot.id)
        .distinct()
    )
    return list(session.scalars(query))


def plays_of(session: Session, bulletin_id: int, viewer: Principal) -> list[Play]:
    """Return every play of a bulletin on the viewer's devices, newest first."""
    query = (
        select(Play)
        .where(Play.bulletin_id == bulletin_id, tenancy.play_filter(viewer))
        .order_by(Play.id.desc())
    )
    return list(session.scalars(query))
