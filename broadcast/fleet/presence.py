"""Heartbeats counted per device per UTC hour (table device_presence): the record behind uptime.

Each heartbeat the station accepts adds one to its device's row for the current hour, in one
INSERT ... ON CONFLICT DO UPDATE, so workers sharing the report subscription never lose a count.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, delete, func, select
from sqlalchemy.orm import Session

from broadcast.storage.db import Database
from broadcast.storage.models import Counter, DevicePresence
from broadcast.storage.upsert import conflict_insert

KEEP = timedelta(days=400)  # a year of reports plus a margin; older hours are deleted
SINCE_COUNTER = "presence_since"  # counters row: unix time the station began counting heartbeats
CHUNK = 500  # device ids per IN list


def hour_of(at: datetime) -> datetime:
    """Return the start of the UTC hour holding `at`."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def count_heartbeat(session: Session, device_id: str, at: datetime) -> int:
    """Add one heartbeat of `device_id` to the hour of `at`; return the hour's count so far."""
    row = {"device_id": device_id, "hour_start": hour_of(at), "heartbeats": 1}
    stmt = conflict_insert(session, DevicePresence).values(row)
    upsert = stmt.on_conflict_do_update(
        index_elements=[DevicePresence.device_id, DevicePresence.hour_start],
        set_={"heartbeats": DevicePresence.heartbeats + 1},
    ).returning(DevicePresence.heartbeats)
    count = int(session.execute(upsert).scalar_one())
    if count == 1:  # the device's first heartbeat this hour: drop its hours past KEEP (by primary key)
        prune(session, at, device_id)
    return count


def prune(session: Session, now: datetime, device_id: str | None = None) -> int:
    """Delete presence hours older than KEEP (of one device, or of all); return how many went."""
    stmt = delete(DevicePresence).where(DevicePresence.hour_start < hour_of(now) - KEEP)
    if device_id is not None:
        stmt = stmt.where(DevicePresence.device_id == device_id)
    return int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]


def sweep(db: Database) -> int:
    """Delete every device's hours older than KEEP (those of devices that stopped reporting too)."""
    with db.session() as session:
        return prune(session, datetime.now(UTC))


def mark_counting_started(session: Session, now: datetime) -> None:
    """Record when this station began counting heartbeats, once: hours before it have no record."""
    stmt = conflict_insert(session, Counter).values(name=SINCE_COUNTER, value=int(now.timestamp()))
    session.execute(stmt.on_conflict_do_nothing(index_elements=[Counter.name]))


def counting_since(session: Session) -> datetime | None:
    """Return when heartbeats began to be counted (None: not recorded, e.g. a database used by tests)."""
    value = session.scalar(select(Counter.value).where(Counter.name == SINCE_COUNTER))
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


def heartbeats_seen(
    session: Session, device_ids: Sequence[str], start: datetime, end: datetime, per_hour: int
) -> dict[str, int]:
    """Return each device's heartbeats in the hours starting in [hour of start, end), at most `per_hour`
    counted in any one hour (an agent poked into extra heartbeats does not make up for a silent hour)."""
    capped = case((DevicePresence.heartbeats > per_hour, per_hour), else_=DevicePresence.heartbeats)
    seen: dict[str, int] = {}
    for ids in _chunks(sorted(set(device_ids))):
        stmt = (
            select(DevicePresence.device_id, func.sum(capped))
            .where(
                DevicePresence.device_id.in_(ids),
                DevicePresence.hour_start >= hour_of(start),
                DevicePresence.hour_start < end,
            )
            .group_by(DevicePresence.device_id)
        )
        seen.update({device_id: int(total or 0) for device_id, total in session.execute(stmt)})
    return seen
