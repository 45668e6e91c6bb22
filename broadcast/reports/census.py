"""The station counted for monitoring: what /healthz and /metrics read from the database."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.orm import InstrumentedAttribute, Session

from broadcast.storage.db import Database
from broadcast.storage.models import Bulletin, Device, Play


@dataclass(frozen=True)
class Census:
    """Registered devices (and how many are online), play reports by outcome, bulletins by status."""

    devices: int
    devices_online: int
    plays: dict[str, int]
    bulletins: dict[str, int]


def census(db: Database) -> Census:
    """Count the devices, play reports and bulletins (four aggregate queries, one transaction)."""
    with db.session() as session:
        devices = session.scalar(select(func.count()).select_from(Device)) or 0
        online = session.scalar(select(func.count()).select_from(Device).where(Device.online)) or 0
        plays = _count_by(session, Play.outcome)
        bulletins = _count_by(session, Bulletin.status)
    return Census(devices=devices, devices_online=online, plays=plays, bulletins=bulletins)


def _count_by(session: Session, column: InstrumentedAttribute[str]) -> dict[str, int]:
    """Return how many rows hold each value of `column`."""
    return {value: int(n) for value, n in session.execute(select(column, func.count()).group_by(column))}


def database_answers(db: Database) -> bool:
    """Return True if the database answers a trivial query (any failure: False)."""
    try:
        with db.session() as session:
            session.execute(text("SELECT 1"))
    except Exception:  # any database failure means unhealthy
        return False
    return True
