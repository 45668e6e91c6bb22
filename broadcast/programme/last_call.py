"""The last call before a programme occurrence: record what of it the station is not sending, and why.

Each slot's scheduler job fires shortly before every occurrence (or is reported missed after an outage);
by then the programme agents hold is final, so whatever the publishing path leaves out of this
occurrence is a skip: items that cannot air, quiet hours, zones with no loudspeaker.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcast.programme import publishing, skips
from broadcast.programme import quiet as commune_quiet
from broadcast.scheduler.planner import QuietHours, in_quiet_hours
from broadcast.storage.db import Database
from broadcast.storage.models import Slot, SlotItem


def reasons(session: Session, slot: Slot, start: datetime, quiet: QuietHours | None, tz: str) -> list[str]:
    """Return why this occurrence of the slot is (partly) not sent; empty if it all goes out.

    `quiet` is the station's default; the commune of each zone may have its own.
    """
    items = list(
        session.scalars(select(SlotItem).where(SlotItem.slot_id == slot.id).order_by(SlotItem.position))
    )
    found = [why for item in items if isinstance(why := publishing.airable(session, item), str)]
    plan = publishing.slot_plan(session, slot.id, publishing.rule_of(slot), slot.zones, items)
    if plan is not None:
        rules = commune_quiet.rules(session, quiet)
        found += [
            skips.quiet_hours(start, span, tz)
            for span in rules.spans(plan.zones)
            if in_quiet_hours(plan, start, span, tz)
        ]
    if empty := skips.zones_without_devices(session, slot.zones):
        found.append(skips.no_devices(empty))
    return found


def record(db: Database, slot_id: int, start: datetime, quiet: QuietHours | None, tz: str) -> int:
    """Record the skips of one occurrence of an active slot; return how many were new."""
    with db.session() as session:
        slot = session.get(Slot, slot_id)
        if slot is None or not slot.active:
            return 0
        return sum(
            skips.record(session, slot, start, why) for why in reasons(session, slot, start, quiet, tz)
        )
