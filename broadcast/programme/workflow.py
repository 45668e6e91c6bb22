"""Programme workflow: slots of ordered items for some zones; problems (slot_checks) refused up front."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcast import domain
from broadcast.bulletins import scheduling
from broadcast.people import audit, tenancy
from broadcast.people.accounts import Principal
from broadcast.programme import publishing, slot_checks

# Re-exported: routes build their requests with these.
from broadcast.programme.slot_checks import ItemRequest as ItemRequest
from broadcast.programme.slot_checks import ProgrammeRules as ProgrammeRules
from broadcast.programme.slot_checks import SlotRequest as SlotRequest
from broadcast.scheduler.planner import SlotPlan, ordered
from broadcast.scheduler.slots import SlotRule
from broadcast.storage.models import Slot, SlotItem

log = logging.getLogger(__name__)


class SlotPlanner(Protocol):
    """What the programme needs from the scheduler: a last-call refresh before each occurrence."""

    def add_slot(self, slot_id: int, rule: SlotRule) -> datetime | None: ...

    def remove_slot(self, slot_id: int) -> None: ...


def _store_items(session: Session, slot: Slot, items: list[SlotItem]) -> None:
    for item in items:
        item.slot_id = slot.id
        session.add(item)
    session.flush()


def check_slot(
    session: Session, rules: ProgrammeRules, user: Principal, request: SlotRequest
) -> slot_checks.Checked:
    """Return what creating this slot would refuse, without storing anything."""
    return slot_checks.check_new_slot(session, rules, user, request, datetime.now(UTC))


def create_slot(
    session: Session,
    planner: SlotPlanner,
    rules: ProgrammeRules,
    user: Principal,
    request: SlotRequest,
    address: str,
) -> tuple[Slot, datetime | None]:
    """Place items in the programme; returns the slot and when its last-call refresh runs."""
    checked = check_slot(session, rules, user, request)
    slot_checks.refuse(checked.problems)
    rule = checked.rule
    assert rule is not None  # a request whose time does not parse has a problem
    slot = Slot(
        zones=checked.zones,
        start_at=rule.start_at,
        daily_at=rule.daily_at,
        days=[str(d) for d in sorted(rule.days)] if rule.daily_at else [],
        title=request.title[:200],
        created_by=user.user_id,
        commune_id=checked.commune,
    )
    session.add(slot)
    session.flush()
    _store_items(session, slot, checked.items)
    audit.record(session, user.name, "slot.create", f"slot:{slot.id}", address, items=len(checked.items))
    detail = scheduling.scheduled_detail(session, slot.id, rule, checked.zones, rules.tz, datetime.now(UTC))
    scheduling.record_scheduled(session, user.name, (i.bulletin_id for i in checked.items), detail)
    session.commit()  # the last-call job and the publisher must find the slot
    return slot, planner.add_slot(slot.id, rule)


def replace_items(
    session: Session,
    rules: ProgrammeRules,
    user: Principal,
    slot_id: int,
    requests: list[ItemRequest],
    address: str,
) -> Slot:
    """Replace (add, remove, reorder) a slot's items; priority items still play first."""
    slot = get_slot(session, slot_id, user)
    tenancy.check_may_change(session, user, slot.zones)
    items, problems = slot_checks.check_items(session, user, requests)
    now = datetime.now(UTC)
    rule = publishing.rule_of(slot)
    problems += slot_checks.timing_problems(session, rules, rule, list(slot.zones), items, now, slot.id)
    slot_checks.refuse(problems)
    for old in session.scalars(select(SlotItem).where(SlotItem.slot_id == slot.id)):
        session.delete(old)
    session.flush()
    _store_items(session, slot, items)
    audit.record(session, user.name, "slot.items", f"slot:{slot.id}", address, items=len(requests))
    return slot


def delete_slot(session: Session, planner: SlotPlanner, user: Principal, slot_id: int, address: str) -> Slot:
    """Take a slot out of the programme (kept for the record; agents drop it with the next programme)."""
    slot = get_slot(session, slot_id, user)
    tenancy.check_may_change(session, user, slot.zones)
    slot.active = False
    planner.remove_slot(slot.id)
    audit.record(session, user.name, "slot.delete", f"slot:{slot.id}", address)
    return slot


def get_slot(session: Session, slot_id: int, viewer: Principal | None = None) -> Slot:
    """Return an active slot; another commune's is answered as missing (viewer None: no scoping)."""
    slot = session.get(Slot, slot_id)
    missing = f"Không có khung giờ phát số {slot_id}."
    if slot is None or not slot.active:
        raise domain.NotFound(missing)
    tenancy.check_visible(viewer, slot.commune_id, missing)
    return slot


def list_slots(session: Session, viewer: Principal, zone: str | None = None) -> list[Slot]:
    """Return the active slots of the viewer's commune (every commune for a province account)."""
    query = select(Slot).where(Slot.active.is_(True), tenancy.commune_filter(Slot.commune_id, viewer))
    return [s for s in session.scalars(query.order_by(Slot.id)) if zone is None or zone in s.zones]


def slot_items(session: Session, slot_id: int) -> list[SlotItem]:
    return list(
        session.scalars(select(SlotItem).where(SlotItem.slot_id == slot_id).order_by(SlotItem.position))
    )


def playing_order(plan: SlotPlan) -> list[int]:
    """Return the item ids in the order they will play."""
    return [item.item_id for item in ordered(plan.items)]


def restore_slots(session: Session, planner: SlotPlanner) -> int:
    """Re-plan the last-call jobs of every active slot still ahead; return how many."""
    now = datetime.now(UTC)
    count = 0
    for slot in session.scalars(select(Slot).where(Slot.active.is_(True))):
        if slot.daily_at or (slot.start_at is not None and slot.start_at > now):
            planner.add_slot(slot.id, publishing.rule_of(slot))
            count += 1
    return count
