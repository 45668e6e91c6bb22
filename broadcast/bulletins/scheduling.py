"""A bulletin placed in the programme: the officer's confirmation and the history entry say the same thing."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcast.bulletins.history import Action, record
from broadcast.scheduler.slots import ALL_DAYS, SlotRule, next_start, zone
from broadcast.storage.models import Zone

DAY_NAMES = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")


def moment_text(at: datetime, tz: str) -> str:
    """Return a moment as an officer reads it: "07:30 Thứ Hai 15/05/2026" in the station's time zone."""
    local = at.astimezone(zone(tz))
    return f"{local:%H:%M} {DAY_NAMES[local.weekday()]} {local:%d/%m/%Y}"


def when_text(rule: SlotRule, tz: str) -> str:
    """Return when a slot plays: once at a moment, or daily at a time on some weekdays."""
    if rule.start_at is not None:
        return f"một lần lúc {moment_text(rule.start_at, tz)}"
    if rule.days == ALL_DAYS:
        return f"hằng ngày lúc {rule.daily_at}"
    days = ", ".join(DAY_NAMES[d] for d in sorted(rule.days))
    return f"hằng ngày lúc {rule.daily_at} ({days})"


def zone_names(session: Session, zone_ids: Iterable[str]) -> list[str]:
    """Return the zones' names in the given order (a zone without a name is shown by its id)."""
    ids = list(zone_ids)
    rows = session.execute(select(Zone.id, Zone.name).where(Zone.id.in_(ids)))
    named: dict[str, str] = {row[0]: row[1] for row in rows}
    return [named.get(z) or z for z in ids]


def scheduled_detail(
    session: Session, slot_id: int, rule: SlotRule, zones: list[str], tz: str, now: datetime
) -> dict[str, Any]:
    """Return what a scheduling entry keeps: the slot, when (words), the zones (names), the next play."""
    upcoming = next_start(rule, now, tz)
    return {
        "slot": slot_id,
        "when": when_text(rule, tz),
        "zones": zone_names(session, zones),
        "zone_ids": list(zones),
        "next": moment_text(upcoming, tz) if upcoming is not None else "",
        "next_at": upcoming.isoformat() if upcoming is not None else None,
    }


def record_scheduled(
    session: Session, actor: str, bulletin_ids: Iterable[int | None], detail: dict[str, Any]
) -> None:
    """Add "… đã xếp lịch phát …" to the history of every bulletin the slot plays (once each)."""
    for bulletin_id in dict.fromkeys(b for b in bulletin_ids if b is not None):
        record(session, bulletin_id, actor, Action.SCHEDULED, **detail)
