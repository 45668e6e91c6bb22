"""Programme occurrences the station did not send, and why: each recorded once, shown on the reports page.

Agents report their own skips as plays; these are the station's: an item it dropped from the programme
(bulletin sent back, clip gone), an occurrence in quiet hours, zones with no loudspeaker, or a stretch
the station was down and never sent. Re-planning runs the same decisions again and again, so a record
is an insert-or-ignore on (slot, start, reason).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcast import domain
from broadcast.scheduler.planner import QuietHours, QuietRules, SlotPlan, as_rules, occurrences
from broadcast.scheduler.slots import zone
from broadcast.storage.models import Bulletin, Device, SkippedSlot, Slot
from broadcast.storage.upsert import conflict_insert

log = logging.getLogger(__name__)

MAX_REASON = 500
UNSENT_LOOKBACK = timedelta(days=7)
"""After a longer outage only the last week's unsent occurrences are recorded (a report shows weeks)."""
KEY = ("slot_id", "start_at", "reason")

# --- reasons (pure) ---------------------------------------------------------------------------------


def bulletin_gone(bulletin_id: int | None) -> str:
    return f"Bản tin số {bulletin_id} không còn nữa nên không được phát."


def bulletin_not_airable(bulletin: Bulletin) -> str:
    """Return why a bulletin in the programme is no longer airable (sent back, or waiting for approval)."""
    name = f"Bản tin số {bulletin.id} «{bulletin.title}»"
    if bulletin.status == domain.BulletinStatus.REJECTED:
        why = f" (lý do: {bulletin.reject_reason})" if bulletin.reject_reason else ""
        return f"{name} đã bị thu hồi, trả lại{why} nên không được phát."
    return f"{name} chưa được duyệt (hoặc đang chờ duyệt lại) nên không được phát."


def clip_missing(bulletin: Bulletin) -> str:
    return f"Bản tin số {bulletin.id} «{bulletin.title}» không có tệp âm thanh trong kho nên không được phát."


def stream_incomplete(title: str) -> str:
    return f"Mục tiếp sóng «{title or 'không tên'}» thiếu địa chỉ luồng hoặc thời lượng nên không được phát."


def quiet_hours(start: datetime, quiet: QuietHours, tz: str) -> str:
    local = start.astimezone(zone(tz))
    return (
        f"Giờ phát {local:%H:%M} rơi vào giờ yên tĩnh ban đêm ({quiet.label()}) theo cài đặt hiện tại; "
        "chỉ cảnh báo khẩn cấp được phát trong giờ này."
    )


def no_devices(zones: Iterable[str]) -> str:
    return f"Vùng {', '.join(zones)} chưa có cụm loa nào đang hoạt động nên không có loa nào phát."


STATION_DOWN = "Trạm phát không hoạt động vào lúc đó nên lịch phát chưa được gửi tới các cụm loa."


# --- records ----------------------------------------------------------------------------------------


def record(session: Session, slot: Slot, start: datetime, reason: str) -> bool:
    """Record that one occurrence of `slot` (or part of it) was not sent; False if already recorded."""
    values = {
        "slot_id": slot.id,
        "start_at": start.astimezone(UTC),
        "zones": list(slot.zones),
        "commune_id": slot.commune_id,
        "reason": reason[:MAX_REASON],
        "recorded_at": datetime.now(UTC),
    }
    # One statement that cannot race a second worker recording the same skip (no select-then-insert).
    # RETURNING says whether a row went in (psycopg reports rowcount -1 for these statements).
    insert = conflict_insert(session, SkippedSlot).values(values).on_conflict_do_nothing(index_elements=KEY)
    added = session.execute(insert.returning(SkippedSlot.id)).first() is not None
    if added:
        log.info("slot %s at %s not sent: %s", slot.id, start.isoformat(), reason)
    return added


def zones_without_devices(session: Session, zones: Iterable[str]) -> list[str]:
    """Return the zones (in order) with no enrolled, unrevoked device."""
    wanted = list(dict.fromkeys(zones))
    served = set(
        session.scalars(select(Device.zone).where(Device.zone.in_(wanted), Device.revoked.is_(False)))
    )
    return [z for z in wanted if z not in served]


def record_unsent(
    session: Session,
    plans: Iterable[SlotPlan],
    sent_until: Mapping[str, datetime],
    now: datetime,
    tz: str,
    quiet: QuietHours | QuietRules | None = None,
) -> int:
    """Record occurrences between a zone's last published window end and now: never sent to its agents.

    `sent_until` maps a zone to the end of the newest programme window it was ever sent, for the zones
    whose window ran out before `now` (the station was down, or could not publish, that long).
    """
    if not sent_until:
        return 0
    earliest = max(min(sent_until.values()), now - UNSENT_LOOKBACK)
    added, rules = 0, as_rules(quiet)
    for plan in plans:
        zones = [z for z in plan.zones if z in sent_until]
        if not zones:
            continue
        slot = session.get(Slot, plan.slot_id)
        for start in occurrences(plan.rule, earliest, now, tz):
            unsent = any(start >= sent_until[z] for z in zones)
            if slot is not None and unsent and not rules.silenced(plan, start, tz):
                added += record(session, slot, start, STATION_DOWN)
    return added
