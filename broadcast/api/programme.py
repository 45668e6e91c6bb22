"""Programme routes: place an approved bulletin in a slot."""

from __future__ import annotations

from fastapi import APIRouter, status

from broadcast import programme
from broadcast.api.deps import AddressDep, StationDep, UserDep
from broadcast.api.schemas import SlotIn, SlotOut

router = APIRouter(prefix="/api/slots", tags=["programme"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_slot(body: SlotIn, station: StationDep, user: UserDep, address: AddressDep) -> SlotOut:
    """Schedule a bulletin once (start_at) or daily (daily_at + days) for some zones."""
    request = programme.SlotRequest(body.bulletin_id, body.zones, body.start_at, body.daily_at, body.days)
    with station.db.session() as session:
        slot, next_push = programme.create_slot(
            session, station.scheduler, station.settings.timezone, user, request, address
        )
    return SlotOut.of(slot, next_push)
