"""Slot rules: parsing what an officer typed, next starts, push times and misfire policy."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from broadcast.scheduler import slots
from broadcast.scheduler.slots import SlotError, SlotRule, parse_rule

TZ = "Asia/Ho_Chi_Minh"
VN = ZoneInfo(TZ)
# Wednesday 2025-06-04 10:00 in Vietnam.
NOW = datetime(2025, 6, 4, 10, 0, tzinfo=VN)


def vn(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 6) -> datetime:
    return datetime(2025, month, day, hour, minute, second, tzinfo=VN)


@pytest.mark.parametrize(
    ("start_at", "expected"),
    [
        ("2025-06-04T11:00", vn(4, 11)),  # naive = programme time zone
        ("2025-06-04 11:30:15", vn(4, 11, 30, 15)),
        ("2025-06-04T04:00:00Z", vn(4, 11)),  # UTC offset converted
        ("2025-06-04T06:00:00+02:00", vn(4, 11)),
        ("2025-06-05T00:00+07:00", vn(5, 0)),
    ],
)
def test_parse_one_off(start_at: str, expected: datetime) -> None:
    rule = parse_rule(start_at, None, None, TZ, NOW)
    assert rule.start_at == expected
    assert rule.start_at is not None
    assert rule.start_at.tzinfo == VN
    assert not rule.recurring


@pytest.mark.parametrize(
    ("daily_at", "days", "expected_time", "expected_days"),
    [
        ("06:30", None, "06:30", slots.ALL_DAYS),
        ("6:30", [0, 2, 4], "06:30", {0, 2, 4}),
        ("17h00", ["mon", "Sun"], "17:00", {0, 6}),
        (" 05:05 ", ["T2", "t7", "CN"], "05:05", {0, 5, 6}),
        ("00:00", ["Thứ 2", "thứ hai", "chủ nhật", "saturday"], "00:00", {0, 5, 6}),
        ("23:59", ["thu"], "23:59", {3}),  # English "thu" = Thursday
        ("06:00", ["0", "6", "3"], "06:00", {0, 3, 6}),  # what an HTML form sends
        ("06:00", [unicodedata.normalize("NFD", "Thứ Sáu")], "06:00", {4}),  # decomposed accents
    ],
)
def test_parse_daily(
    daily_at: str, days: list[str | int] | None, expected_time: str, expected_days: set[int]
) -> None:
    rule = parse_rule(None, daily_at, days, TZ, NOW)
    assert rule.daily_at == expected_time
    assert rule.days == frozenset(expected_days)
    assert rule.recurring


@pytest.mark.parametrize(
    ("start_at", "daily_at", "days", "message"),
    [
        (None, None, None, "Chọn đúng một trong start_at"),
        ("  ", "", None, "Chọn đúng một trong start_at"),
        ("2025-06-04T11:00", "06:30", None, "Chọn đúng một trong start_at"),
        ("mai 7 giờ", None, None, "Giờ phát không hợp lệ: 'mai 7 giờ'"),
        ("2025-02-30T07:00", None, None, "Giờ phát không hợp lệ"),
        ("2025-06-04T09:59", None, None, "Thời điểm phát đã qua: 09:59 04/06/2025"),
        ("2025-06-04T10:00", None, None, "Thời điểm phát đã qua"),
        ("2025-06-04T11:00", None, ["mon"], "Ngày trong tuần chỉ dùng với daily_at"),
        (None, "25:00", None, "Giờ phát hằng ngày không hợp lệ: '25:00'"),
        (None, "7:75", None, "Giờ phát hằng ngày không hợp lệ"),
        (None, "7 giờ", None, "Giờ phát hằng ngày không hợp lệ"),
        (None, "06:30", [], "Chọn ít nhất một ngày"),
        (None, "06:30", [7], "Ngày trong tuần không hợp lệ: 7"),
        (None, "06:30", ["7"], "Ngày trong tuần không hợp lệ: 7"),  # "Thứ 7" is "t7"; 7 is out of range
        (None, "06:30", ["funday"], "Ngày trong tuần không hợp lệ"),
        (None, "06:30", [True], "Ngày trong tuần không hợp lệ"),
    ],
)
def test_parse_rejects(
    start_at: str | None, daily_at: str | None, days: list[str | int] | None, message: str
) -> None:
    with pytest.raises(SlotError, match=message):
        parse_rule(start_at, daily_at, days, TZ, NOW)


def test_rule_invariants() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        SlotRule()
    with pytest.raises(ValueError, match="timezone-aware"):
        SlotRule(start_at=datetime(2025, 6, 4, 11))
    with pytest.raises(ValueError, match="subset"):
        SlotRule(daily_at="06:00", days=frozenset({7}))


@pytest.mark.parametrize(
    ("rule", "after", "expected"),
    [
        (SlotRule(start_at=vn(4, 11)), NOW, vn(4, 11)),
        (SlotRule(start_at=vn(4, 11)), vn(4, 11), None),  # strictly after
        (SlotRule(daily_at="11:00"), NOW, vn(4, 11)),
        (SlotRule(daily_at="10:00"), NOW, vn(5, 10)),  # exactly now -> tomorrow
        (SlotRule(daily_at="09:00"), NOW, vn(5, 9)),
        (SlotRule(daily_at="06:30", days=frozenset({0})), NOW, vn(9, 6, 30)),  # next Monday
        (SlotRule(daily_at="06:30", days=frozenset({2})), NOW, vn(11, 6, 30)),  # Wed, passed -> next week
        (SlotRule(daily_at="00:00", days=frozenset({5, 6})), NOW, vn(7, 0)),  # Saturday
        (SlotRule(daily_at="06:30"), datetime(2025, 6, 30, 23, tzinfo=UTC), vn(1, 6, 30, month=7)),
        # 20:00 UTC on Wednesday is 03:00 Thursday in Vietnam: the weekday is Vietnam's.
        (SlotRule(daily_at="05:00", days=frozenset({3})), datetime(2025, 6, 4, 20, tzinfo=UTC), vn(5, 5)),
    ],
)
def test_next_start(rule: SlotRule, after: datetime, expected: datetime | None) -> None:
    assert slots.next_start(rule, after, TZ) == expected


def test_push_time() -> None:
    assert slots.push_time(vn(4, 11), 30) == vn(4, 10, 59, 30)
    assert slots.push_time(vn(5, 0), 90) == vn(4, 23, 58, 30)


@pytest.mark.parametrize(
    ("rule", "lead_s", "grace"),
    [
        (SlotRule(start_at=vn(4, 11)), 30.0, 28),  # one-off: any push that still reaches agents
        (SlotRule(start_at=vn(4, 11)), 600.0, 598),
        (SlotRule(start_at=vn(4, 11)), 1.0, 1),  # APScheduler needs at least 1
        (SlotRule(daily_at="05:30"), 30.0, 15),  # recurring: small, then skipped
        (SlotRule(daily_at="05:30"), 600.0, 15),
        (SlotRule(daily_at="05:30"), 10.0, 8),
        (SlotRule(daily_at="05:30"), 1.0, 1),
    ],
)
def test_misfire_grace(rule: SlotRule, lead_s: float, grace: int) -> None:
    assert slots.misfire_grace_s(rule, lead_s) == grace
    if lead_s > slots.DELIVERY_MARGIN_S + 1:
        assert grace < lead_s  # a push that runs within its grace is never after start_at


@pytest.mark.parametrize(
    ("start", "lead_s", "now", "expected"),
    [
        (vn(4, 11), 30.0, NOW, (vn(4, 10, 59, 30), 28)),
        (vn(4, 10, 0, 20), 30.0, NOW, (NOW, 18)),  # push time passed, start ahead: push now
        (vn(4, 10, 0, 1), 30.0, NOW, (NOW, 1)),
        (NOW, 30.0, NOW, None),
        (vn(4, 9), 30.0, NOW, None),
    ],
)
def test_one_off_push(
    start: datetime, lead_s: float, now: datetime, expected: tuple[datetime, int] | None
) -> None:
    assert slots.one_off_push(start, lead_s, now) == expected


@pytest.mark.parametrize(
    ("daily_at", "fired_at", "expected"),
    [
        ("07:00", vn(4, 6, 59, 30), vn(4, 7)),  # on time
        ("07:00", vn(4, 6, 59, 44), vn(4, 7)),  # 14 s late
        ("07:00", vn(4, 6, 59, 59), vn(4, 7)),  # lead 1 s, on time
        (
            "07:00",
            vn(4, 7) + timedelta(milliseconds=500),
            vn(4, 7),
        ),  # lead 1 s, a little late: still this start
        ("00:00", vn(4, 23, 59, 30), vn(5, 0)),  # across midnight
        ("07:00", vn(4, 6, 50), vn(4, 7)),  # a 10 min lead
    ],
)
def test_occurrence_of_push(daily_at: str, fired_at: datetime, expected: datetime) -> None:
    assert slots.occurrence_of_push(daily_at, fired_at, TZ) == expected


@pytest.mark.parametrize(
    ("daily_at", "days", "lead_s", "expected"),
    [
        ("07:00", {0, 2, 4}, 30.0, ({0, 2, 4}, 6, 59, 30)),
        ("07:00", {0}, 0.5, ({0}, 6, 59, 59)),  # fractional lead rounded up
        ("00:00", {0, 6}, 30.0, ({6, 5}, 23, 59, 30)),  # Monday 00:00 pushed Sunday 23:59:30
        ("00:00", set(range(7)), 30.0, (set(range(7)), 23, 59, 30)),
        ("00:10", {0}, 600.0, ({0}, 0, 0, 0)),  # exactly midnight, same day
        ("00:10", {0}, 601.0, ({6}, 23, 59, 59)),
    ],
)
def test_cron_fields(
    daily_at: str, days: set[int], lead_s: float, expected: tuple[set[int], int, int, int]
) -> None:
    fired_days, hour, minute, second = slots.cron_fields(
        SlotRule(daily_at=daily_at, days=frozenset(days)), lead_s
    )
    assert (set(fired_days), hour, minute, second) == expected
