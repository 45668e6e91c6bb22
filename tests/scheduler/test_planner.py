"""Planner: occurrences over a controllable clock, item order, quiet hours, conflicts (pure, no sleeps)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from broadcast.scheduler.planner import (
    ITEM_GAP_S,
    ItemSpec,
    QuietHours,
    SlotPlan,
    check_quiet_hours,
    conflicts,
    occurrences,
    parse_quiet_hours,
    plan,
    slot_length_s,
)
from broadcast.scheduler.slots import SlotError, SlotRule

TZ = "Asia/Ho_Chi_Minh"
VN = ZoneInfo(TZ)
MONDAY = datetime(2026, 11, 23, 0, 0, tzinfo=VN)  # a Monday, midnight in Vietnam


def item(item_id: int, duration: float = 60.0, priority: str = "normal", position: int = 0) -> ItemSpec:
    return ItemSpec(item_id, "bulletin", duration, priority, position, f"{item_id:064x}")


def daily(
    slot_id: int, at: str, days: set[int], zones: tuple[str, ...] = ("thon-1",), *items: ItemSpec
) -> SlotPlan:
    return SlotPlan(slot_id, SlotRule(daily_at=at, days=frozenset(days)), zones, items or (item(slot_id),))


def test_daily_slot_repeats_on_the_chosen_weekdays_only() -> None:
    slot = daily(1, "05:30", {0, 2, 4})  # Mon, Wed, Fri
    starts = occurrences(slot.rule, MONDAY, MONDAY + timedelta(days=14), TZ)
    assert [(s.strftime("%a %d %H:%M")) for s in starts] == [
        "Mon 23 05:30", "Wed 25 05:30", "Fri 27 05:30", "Mon 30 05:30", "Wed 02 05:30", "Fri 04 05:30",
    ]  # fmt: skip
    assert all(s.utcoffset() == timedelta(hours=7) for s in starts)


def test_the_clock_can_be_moved_without_sleeping() -> None:
    slot = daily(1, "17:00", {0, 1, 2, 3, 4, 5})  # Monday to Saturday, as many communes do
    seen: list[datetime] = []
    clock = MONDAY
    for _ in range(7 * 4):  # walk a week in 6-hour steps
        seen += [e.start for e in plan([slot], clock, clock + timedelta(hours=6), TZ)]
        clock += timedelta(hours=6)
    assert len(seen) == 6
    assert {s.weekday() for s in seen} == {0, 1, 2, 3, 4, 5}


def test_one_off_and_window_edges() -> None:
    start = MONDAY + timedelta(hours=9)
    slot = SlotPlan(2, SlotRule(start_at=start), ("thon-1",), (item(1, 30), item(2, 30, position=1)))
    assert [e.start for e in plan([slot], MONDAY, MONDAY + timedelta(days=1), TZ)] == [
        start,
        start + timedelta(seconds=30 + ITEM_GAP_S),
    ]
    # After the first item started, the second is still planned (an occurrence under way keeps its tail).
    later = plan([slot], start + timedelta(seconds=5), start + timedelta(hours=1), TZ)
    assert [e.item.item_id for e in later] == [2]
    assert plan([slot], start + timedelta(hours=1), start + timedelta(days=1), TZ) == []


def test_priority_items_lead_then_the_staff_order() -> None:
    items = (item(1, position=0), item(2, priority="priority", position=2), item(3, position=1))
    entries = plan([daily(1, "06:00", {0}, ("thon-1",), *items)], MONDAY, MONDAY + timedelta(days=1), TZ)
    assert [e.item.item_id for e in entries] == [2, 1, 3]
    assert slot_length_s(items) == 180 + 2 * ITEM_GAP_S


def test_entry_ids_are_stable_and_content_sensitive() -> None:
    slot = daily(1, "06:00", {0})
    first = plan([slot], MONDAY, MONDAY + timedelta(days=1), TZ)[0]
    again = plan([slot], MONDAY + timedelta(hours=1), MONDAY + timedelta(days=1), TZ)[0]
    assert first.command_id == again.command_id
    edited = daily(1, "06:00", {0}, ("thon-1",), ItemSpec(1, "bulletin", 60, "normal", 0, "f" * 64))
    assert plan([edited], MONDAY, MONDAY + timedelta(days=1), TZ)[0].command_id != first.command_id


@pytest.mark.parametrize(
    ("at", "refused"),
    [("21:59", False), ("22:00", True), ("23:30", True), ("03:15", True), ("04:59", True), ("05:00", False)],
)
def test_quiet_hours_cross_midnight(at: str, refused: bool) -> None:
    quiet = parse_quiet_hours("22:00-05:00")
    slot = daily(1, at, {0, 1, 2, 3, 4, 5, 6}, ("thon-1",), item(1, duration=30))
    if refused:
        with pytest.raises(SlotError, match="giờ yên tĩnh"):
            check_quiet_hours(slot, quiet, TZ, MONDAY)
    else:
        check_quiet_hours(slot, quiet, TZ, MONDAY)


def test_a_long_slot_running_into_quiet_hours_is_refused() -> None:
    slot = daily(1, "21:50", {0}, ("thon-1",), item(1, duration=15 * 60))
    with pytest.raises(SlotError):
        check_quiet_hours(slot, QuietHours(time(22), time(5)), TZ, MONDAY)
    check_quiet_hours(slot, None, TZ, MONDAY)  # no quiet hours configured
    assert parse_quiet_hours("") is None
    with pytest.raises(ValueError, match="22:00-05:00"):
        parse_quiet_hours("tối")


def test_conflicts_need_a_shared_zone_and_an_overlap() -> None:
    new = daily(1, "06:00", {0}, ("thon-1",), item(1, duration=300))
    same_time = daily(2, "06:04", {0}, ("thon-1", "thon-2"))
    other_zone = daily(3, "06:00", {0}, ("thon-3",))
    later = daily(4, "06:06", {0}, ("thon-1",))
    other_day = daily(5, "06:00", {1}, ("thon-1",))
    clashes = conflicts(new, [same_time, other_zone, later, other_day], TZ, MONDAY.astimezone(UTC))
    assert [slot_id for slot_id, _ in clashes] == [2]
