"""The command outbox: every signed command gets a station-wide sequence number and a stored copy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcast import protocol
from broadcast.storage.models import Command


def next_seq(session: Session) -> int:
    """Return the next sequence number (agents use it, with the id, to refuse replays)."""
    return (session.scalar(select(func.max(Command.seq))) or 0) + 1


def store_signed(
    session: Session,
    body: dict[str, Any],
    signing_key: bytes,
    *,
    start_at: datetime,
    slot_id: int | None = None,
    bulletin_id: int | None = None,
    kind: str = "play",
) -> Command:
    """Sign a command body (which carries its id, seq and zones) and keep it in the outbox."""
    row = Command(
        id=body["id"],
        seq=body["seq"],
        kind=kind,
        slot_id=slot_id,
        bulletin_id=bulletin_id,
        start_at=start_at,
        zones=list(body["zones"]),
        payload=protocol.sign_body(body, signing_key).decode(),
    )
    session.add(row)
    return row
