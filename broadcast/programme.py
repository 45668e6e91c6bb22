"""Programme workflow: slots of ordered items for some zones; quiet hours and conflicts refused up front."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcast import audit, domain, publishing, tenancy
from broadcast.accounts import Principal
from broadcast.bulletins import get_bulletin
from broadcast.scheduler.planner import (
    QuietHours,
    SlotPlan,
    check_quiet_hours,
    conflicts,
    ordered,
)
from broadcast.scheduler.slots import SlotError, SlotRule, parse_rule, zone
from broadcast.storage.models import Slot, SlotItem

log = logging.getLogger(__name__)
MAX_ITEMS = 50


class SlotPlanner(Protocol):
    """What the programme needs from the scheduler: a last-call refresh before each occurrence."""

    def add_slot(self, slot_id: int, rule: SlotRule) -> datetime | None: ...

    def remove_slot(self, slot_id: int) -> None: ...


@dataclass(frozen=True)
class ItemRequest:
    """An item as an officer asks for it: an approved bulletin, or a live stream for some minutes."""

    bulletin_id: int | None = None
    stream_url: str | None = None
    duration_s: float | None = None
    title: str = ""


@dataclass(frozen=True)
class SlotRequest:
    zones: list[str]
    start_at: str | None = None
    daily_at: str | None = None
    days: list[str] | None = None
    items: list[ItemRequest] = field(default_factory=list)
    title: str = ""


@dataclass(frozen=True)
class ProgrammeRules:
    tz: str
    quiet: QuietHours | None


def _check_item(session: Session, user: Principal, request: ItemRequest) -> SlotItem:
    if request.bulletin_id is not None:
        bulletin = get_bulletin(session, request.bulletin_id, user)
        if not domain.can_air(bulletin.status):
            raise domain.Conflict(f"Bản tin số {bulletin.id} chưa được duyệt nên không thể xếp lịch phát.")
        return SlotItem(position=0, kind="bulletin", bulletin_id=bulletin.id, title=bulletin.title)
    url = (request.stream_url or "").strip()
    if not url.startswith(("http://", "https://")) or len(url) > 2000:
        raise domain.Invalid("Tiếp sóng cần địa chỉ luồng http(s) hợp lệ, ví dụ luồng VOV1.")
    if not request.duration_s or not 0 < request.duration_s <= 4 * 3600:
        raise domain.Invalid("Thời lượng tiếp sóng phải từ 1 giây đến 4 giờ.")
    if not domain.can_approve(user.role):
        raise domain.Forbidden("Chỉ người duyệt hoặc quản trị viên mới được thêm tiếp sóng.")
    title = domain.clean_text(request.title or "Tiếp sóng", field="Tên chương trình", max_chars=200)
    return SlotItem(position=0, kind="stream", stream_url=url, duration_s=request.duration_s, title=title)


def _items(session: Session, user: Principal, requests: list[ItemRequest]) -> list[SlotItem]:
    if not requests:
        raise domain.Invalid("Khung giờ phát cần ít nhất một bản tin hoặc chương trình tiếp sóng.")
    if len(requests) > MAX_ITEMS:
        raise domain.Invalid(f"Một khung giờ có tối đa {MAX_ITEMS} mục.")
    items = [_check_item(session, user, r) for r in requests]
    for position, item in enumerate(items):
        item.position = position
    return items


def _validate(session: Session, rules: ProgrammeRules, slot: Slot, items: list[SlotItem]) -> None:
    """Refuse quiet-hours plays and overlaps with other slots of the same zones (nothing stored yet)."""
    now = datetime.now(UTC)
    session.add(slot)
    session.flush()
    for item in items:
        item.slot_id = slot.id
        session.add(item)
    session.flush()
    plans = publishing.load_plans(session, [slot])
    if not plans:
        return
    candidate = plans[0]
    try:
        check_quiet_hours(candidate, rules.quiet, rules.tz, now)
    except SlotError as exc:
        raise domain.Invalid(str(exc)) from exc
    others = publishing.load_plans(
        session, session.scalars(select(Slot).where(Slot.active, Slot.id != slot.id))
    )
    clashes = conflicts(candidate, others, rules.tz, now)
    if clashes:
        other, start = clashes[0]
        local = start.astimezone(zone(rules.tz))
        raise domain.Conflict(
            f"Trùng giờ với khung phát số {other} lúc {local:%H:%M %d/%m} trên cùng cụm loa. "
            "Hãy chọn giờ khác hoặc thêm mục vào khung đó."
        )


def create_slot(
    session: Session,
    planner: SlotPlanner,
    rules: ProgrammeRules,
    user: Principal,
    request: SlotRequest,
    address: str,
) -> tuple[Slot, datetime | None]:
    """Place items in the programme; returns the slot and when its last-call refresh runs."""
    items = _items(session, user, request.items)
    default_zones = next(
        (get_bulletin(session, i.bulletin_id, user).zones for i in items if i.bulletin_id is not None), []
    )
    zones, commune = tenancy.scope_zones(session, user, request.zones or default_zones)
    try:
        rule = parse_rule(request.start_at, request.daily_at, request.days, rules.tz, datetime.now(UTC))
    except SlotError as exc:
        raise domain.Invalid(str(exc)) from exc
    slot = Slot(
        zones=zones,
        start_at=rule.start_at,
        daily_at=rule.daily_at,
        days=[str(d) for d in sorted(rule.days)] if rule.daily_at else [],
        title=request.title[:200],
        created_by=user.user_id,
        commune_id=commune,
    )
    _validate(session, rules, slot, items)
    audit.record(session, user.name, "slot.create", f"slot:{slot.id}", address, items=len(items))
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
    for old in session.scalars(select(SlotItem).where(SlotItem.slot_id == slot.id)):
        session.delete(old)
    session.flush()
    _validate(session, rules, slot, _items(session, user, requests))
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
