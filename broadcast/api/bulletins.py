"""Bulletin routes: create (draft + preview audio), read, list, approve."""

from __future__ import annotations

from fastapi import APIRouter, status

from broadcast import bulletins
from broadcast.api.deps import AddressDep, StationDep, UserDep
from broadcast.api.schemas import BulletinIn, BulletinOut
from broadcast.storage.models import Bulletin, Clip

router = APIRouter(prefix="/api/bulletins", tags=["bulletins"])


def _out(station: StationDep, bulletin: Bulletin) -> BulletinOut:
    with station.db.session() as session:
        clip = session.get(Clip, bulletin.clip_sha256)
        unknown = bulletins.unknown_terms(session, bulletin)
    return BulletinOut.of(bulletin, clip.duration_s if clip else 0.0, unknown)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_bulletin(body: BulletinIn, station: StationDep, user: UserDep, address: AddressDep) -> BulletinOut:
    """Write a bulletin; it is read aloud at once so the officer can listen before asking for approval."""
    draft = bulletins.BulletinDraft(body.title, body.text, body.priority, body.zones, body.engine, body.voice)
    with station.db.session() as session:
        bulletin = bulletins.create_bulletin(session, station.clips, station.settings, user, draft, address)
    return _out(station, bulletin)


@router.get("")
def list_bulletins(station: StationDep, user: UserDep, status: str | None = None) -> list[BulletinOut]:
    with station.db.session() as session:
        rows = bulletins.list_bulletins(session, status)
    return [_out(station, b) for b in rows]


@router.get("/{bulletin_id}")
def get_bulletin(bulletin_id: int, station: StationDep, user: UserDep) -> BulletinOut:
    with station.db.session() as session:
        bulletin = bulletins.get_bulletin(session, bulletin_id)
    return _out(station, bulletin)


@router.post("/{bulletin_id}/approve")
def approve_bulletin(
    bulletin_id: int, station: StationDep, user: UserDep, address: AddressDep
) -> BulletinOut:
    """Approve a bulletin for air (approver or admin only)."""
    with station.db.session() as session:
        bulletin = bulletins.approve_bulletin(session, user, bulletin_id, address)
    station.refresh_programme()  # slots holding it may air it again
    return _out(station, bulletin)


@router.post("/{bulletin_id}/render")
def render_again(bulletin_id: int, station: StationDep, user: UserDep, address: AddressDep) -> BulletinOut:
    """Read the bulletin again with the current commune dictionary (changed audio needs a new approval)."""
    with station.db.session() as session:
        bulletin = bulletins.rerender_bulletin(
            session, station.clips, station.settings, user, bulletin_id, address
        )
    station.refresh_programme()  # new audio, or back to draft: the programme changes with it
    return _out(station, bulletin)
