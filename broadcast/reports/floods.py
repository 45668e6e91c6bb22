"""Devices whose reports the station dropped: flagged on their row, audited once per streak."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import update

from broadcast.mqtt.report_guard import DropLedger, Streak
from broadcast.people import audit
from broadcast.storage.db import Database
from broadcast.storage.models import Device

log = logging.getLogger(__name__)

FLAG_MIN_DROPS = 20  # fewer in a streak is a hiccup (an old agent, one forged command), not abnormal
AUDIT_ACTOR = "station"
AUDIT_ACTION = "device.report_flood"


def _at(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def record_streak(db: Database, streak: Streak) -> None:
    """Add a streak's drops to its device's row; a new streak replaces the last and is audited."""
    mine = Device.id == streak.device_id
    with db.session() as session:
        if streak.new:
            values = {"report_flood_since": _at(streak.started_at), "report_flood_dropped": streak.dropped}
        else:
            values = {"report_flood_dropped": Device.report_flood_dropped + streak.dropped}
        stmt = update(Device).where(mine).values(report_flood_at=_at(streak.last_at), **values)
        if not session.execute(stmt).rowcount:  # type: ignore[attr-defined]
            return  # not a registered device: nothing to flag (the drops are still in /metrics)
        if streak.new:
            audit.record(
                session,
                AUDIT_ACTOR,
                AUDIT_ACTION,
                f"device:{streak.device_id}",
                since=_at(streak.started_at).isoformat(),
                dropped=streak.dropped,
                reasons=streak.reasons,
            )
    if streak.new:
        log.warning(
            "device %s sends abnormal reports: %d dropped so far (%s)",
            streak.device_id,
            streak.dropped,
            ", ".join(f"{reason} {n}" for reason, n in sorted(streak.reasons.items())),
        )


def flag_floods(db: Database, ledger: DropLedger) -> int:
    """Record the streaks the ledger holds (at least FLAG_MIN_DROPS each); return how many."""
    streaks = ledger.take(FLAG_MIN_DROPS)
    for streak in streaks:
        record_streak(db, streak)
    return len(streaks)
