"""What is wrong with a slot an officer is placing: every problem at once, and nothing stored.

Creating a slot refuses with these problems; the check endpoint and the pages show them while the
officer is still typing. Nothing here adds to the session, so a check leaves the database as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcast import domain
from broadcast.bulletins.workflow import get_bulletin
from broadcast.people import tenancy
from broadcast.people.accounts import Principal
from broadcast.programme import publishing
from broadcast.programme import quiet as commune_quiet
from broadcast.scheduler.planner import QuietHours, SlotPlan, check_quiet_hours, conflicts
from broadcast.scheduler.slots import SlotError, SlotRule, parse_rule, zone
from broadcast.storage.models import Slot, SlotItem

MAX_ITEMS = 50
Field = Literal["items", "zones", "time", "quiet_hours", "conflict"]


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
    quiet: QuietHours | None  # the station's default; a commune's own quiet hours override it


@dataclass(frozen=True)
class Problem:
    """One reason the slot would be refused; `error` is what creating it raises."""

    error: type[domain.DomainError]
    field: Field
    message: str
    slot_id: int | None = None  # the slot it clashes with

    @property
    def code(self) -> int:
        return self.error.status_code


@dataclass
class Checked:
    """A slot request as the station understood it, with its problems (empty: it may be saved)."""

    items: list[SlotItem]
    zones: list[str]
    commune: str
    rule: SlotRule | None
    problems: list[Problem]


def refuse(problems: Sequence[Problem]) -> None:
    """Raise the first problem's error, saying every problem (an officer fixes them all at once)."""
    if problems:
        raise problems[0].error(" ".join(p.message for p in problems))


def _problem(exc: domain.DomainError, where: Field) -> Problem:
    return Problem(type(exc), where, str(exc))


def _item(session: Session, user: Principal, request: ItemRequest) -> SlotItem:
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


def check_items(
    session: Session, user: Principal, requests: list[ItemRequest]
) -> tuple[list[SlotItem], list[Problem]]:
    """Return the items that may air (positions set, not stored) and the problems of the others."""
    if not requests:
        message = "Khung giờ phát cần ít nhất một bản tin hoặc chương trình tiếp sóng."
        return [], [Problem(domain.Invalid, "items", message)]
    if len(requests) > MAX_ITEMS:
        return [], [Problem(domain.Invalid, "items", f"Một khung giờ có tối đa {MAX_ITEMS} mục.")]
    items: list[SlotItem] = []
    problems: list[Problem] = []
    for request in requests:
        try:
            items.append(_item(session, user, request))
        except domain.DomainError as exc:
            problems.append(_problem(exc, "items"))
    for position, item in enumerate(items):
        item.position = position
    return items, problems


def _default_zones(session: Session, user: Principal, requests: list[ItemRequest]) -> list[str]:
    """Return the zones of the first bulletin the officer may see (even an unapproved one)."""
    for request in requests:
        if request.bulletin_id is not None:
            try:
                return list(get_bulletin(session, request.bulletin_id, user).zones)
            except domain.DomainError:
                continue
    return []


def _label(slot: Slot, plan: SlotPlan) -> str:
    title = slot.title or " → ".join(i.title for i in plan.items if i.title)
    return f"khung phát số {slot.id}" + (f" «{title}»" if title else "")


def timing_problems(
    session: Session,
    rules: ProgrammeRules,
    rule: SlotRule,
    zones: list[str],
    items: list[SlotItem],
    now: datetime,
    slot_id: int = 0,
) -> list[Problem]:
    """Return quiet-hours plays and overlaps with other active slots of the same zones."""
    # No airable item (each has its own problem): the start time alone is still checked.
    candidate = publishing.slot_plan(session, slot_id, rule, zones, items) or SlotPlan(
        slot_id, rule, tuple(zones), ()
    )
    try:
        check_quiet_hours(candidate, commune_quiet.rules(session, rules.quiet), rules.tz, now)
        problems: list[Problem] = []
    except SlotError as exc:
        problems = [Problem(domain.Invalid, "quiet_hours", str(exc))]
    shared = [
        s
        for s in session.scalars(select(Slot).where(Slot.active.is_(True), Slot.id != slot_id))
        if set(s.zones) & set(zones)  # JSON lists: filtered here, before loading their items
    ]
    others = {s.id: s for s in shared}
    plans = {p.slot_id: p for p in publishing.load_plans(session, shared)}
    for other, start in conflicts(candidate, plans.values(), rules.tz, now):
        local = start.astimezone(zone(rules.tz))
        message = (
            f"Trùng giờ với {_label(others[other], plans[other])} lúc {local:%H:%M %d/%m} trên cùng cụm loa. "
            "Hãy chọn giờ khác hoặc thêm mục vào khung đó."
        )
        problems.append(Problem(domain.Conflict, "conflict", message, slot_id=other))
    return problems


def check_new_slot(
    session: Session, rules: ProgrammeRules, user: Principal, request: SlotRequest, now: datetime
) -> Checked:
    """Check a slot an officer asks for, as creating it would: items, zones, time, quiet hours, clashes."""
    items, problems = check_items(session, user, request.items)
    zones: list[str] = []
    commune = ""
    try:
        zones, commune = tenancy.scope_zones(
            session, user, request.zones or _default_zones(session, user, request.items)
        )
    except domain.DomainError as exc:
        problems.append(_problem(exc, "zones"))
    rule: SlotRule | None = None
    try:
        rule = parse_rule(request.start_at, request.daily_at, request.days, rules.tz, now)
    except SlotError as exc:
        problems.append(Problem(domain.Invalid, "time", str(exc)))
    if rule is not None and zones:
        problems += timing_problems(session, rules, rule, zones, items, now)
    return Checked(items, zones, commune, rule, problems)
