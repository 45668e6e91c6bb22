"""Slot rules: when a bulletin plays, when its command is pushed, and how late a push may still run.

Pure functions on data; the APScheduler adapter lives in service.py.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ALL_DAYS = frozenset(range(7))

# An agent needs a moment to receive a pushed command before start_at; a push later than that is useless.
DELIVERY_MARGIN_S = 2.0
# A daily programme comes back tomorrow, so a push that has lost more than this much of its lead is
# skipped (and recorded) rather than sent: agents on 3G may then not fetch the clip in time and start
# out of step with the rest of the zone, which neighbours hear as an echo.
RECURRING_MAX_GRACE_S = 15

_ENGLISH_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_NAMES = {
    **{name: i for i, name in enumerate(_ENGLISH_DAYS)},
    **{name[:3]: i for i, name in enumerate(_ENGLISH_DAYS)},
    # Vietnamese: thứ hai (T2) is Monday ... thứ bảy (T7) is Saturday, chủ nhật (CN) is Sunday.
    **{f"t{n}": n - 2 for n in range(2, 8)},
    **{f"thứ{n}": n - 2 for n in range(2, 8)},
    **{f"thu{n}": n - 2 for n in range(2, 8)},
    "thứhai": 0,
    "thứba": 1,
    "thứtư": 2,
    "thứnăm": 3,
    "thứsáu": 4,
    "thứbảy": 5,
    "cn": 6,
    "chủnhật": 6,
}
_DAILY_AT = re.compile(r"^\s*(\d{1,2})\s*[:hH]\s*(\d{2})\s*$")
_DAY_HELP = "dùng 0–6 (0 = thứ Hai) hoặc mon..sun, t2..t7, cn"


class SlotError(ValueError):
    """A slot an officer asked for cannot be scheduled; the message (Vietnamese) says why."""


@dataclass(frozen=True)
class SlotRule:
    """Either one play at `start_at` (aware) or a play every `daily_at` "HH:MM" on `days` (0 = Monday)."""

    start_at: datetime | None = None
    daily_at: str | None = None
    days: frozenset[int] = ALL_DAYS

    def __post_init__(self) -> None:
        if (self.start_at is None) == (self.daily_at is None):
            raise ValueError("a slot rule has exactly one of start_at and daily_at")
        if self.start_at is not None and self.start_at.utcoffset() is None:
            raise ValueError("start_at must be timezone-aware")
        if self.daily_at is not None:
            _hour_minute(self.daily_at)
        if not self.days or not self.days <= ALL_DAYS:
            raise ValueError(f"days must be a non-empty subset of 0..6, got {sorted(self.days)}")

    @property
    def recurring(self) -> bool:
        return self.daily_at is not None

    @property
    def time_of_day(self) -> time:
        """Return the local time of a recurring slot."""
        if self.daily_at is None:
            raise ValueError("a one-off slot has no time of day")
        return time(*_hour_minute(self.daily_at))


@functools.lru_cache(maxsize=16)
def zone(tz: str) -> ZoneInfo:
    """Return the ZoneInfo for a programme time zone name."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {tz!r}") from exc


def _hour_minute(text: str) -> tuple[int, int]:
    match = _DAILY_AT.fullmatch(text)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise SlotError(f"Giờ phát hằng ngày không hợp lệ: {text!r} (dạng HH:MM, ví dụ 06:30)")
    return int(match[1]), int(match[2])


def _parse_day(value: str | int) -> int:
    if isinstance(value, bool):
        raise SlotError(f"Ngày trong tuần không hợp lệ: {value!r} ({_DAY_HELP})")
    if isinstance(value, int):
        if 0 <= value <= 6:
            return value
        raise SlotError(f"Ngày trong tuần không hợp lệ: {value!r} ({_DAY_HELP})")
    # NFC: some Vietnamese keyboards send "ứ" as u + two combining marks.
    key = re.sub(r"[\s._-]", "", unicodedata.normalize("NFC", value).lower())
    # HTML forms send numbers as text: "0".."6" mean what the ints mean (0 = Monday).
    if key.isdigit():
        return _parse_day(int(key))
    if key not in _DAY_NAMES:
        raise SlotError(f"Ngày trong tuần không hợp lệ: {value!r} ({_DAY_HELP})")
    return _DAY_NAMES[key]


def _parse_start(text: str, tzinfo: ZoneInfo) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise SlotError(f"Giờ phát không hợp lệ: {text!r} (ví dụ 2025-06-01T07:00)") from None
    # Officers type local times; a time without an offset is in the programme time zone.
    if moment.utcoffset() is None:
        moment = moment.replace(tzinfo=tzinfo)
    return moment.astimezone(tzinfo)


def parse_rule(
    start_at: str | None,
    daily_at: str | None,
    days: Sequence[str | int] | None,
    tz: str,
    now: datetime,
) -> SlotRule:
    """Validate what an officer typed and return the slot rule, or raise SlotError (Vietnamese)."""
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    tzinfo = zone(tz)
    has_start = bool(start_at and start_at.strip())
    has_daily = bool(daily_at and daily_at.strip())
    if has_start == has_daily:
        raise SlotError("Chọn đúng một trong start_at (phát một lần) hoặc daily_at (phát hằng ngày)")
    if start_at and has_start:
        if days:
            raise SlotError("Ngày trong tuần chỉ dùng với daily_at (phát hằng ngày)")
        moment = _parse_start(start_at, tzinfo)
        if moment <= now:
            raise SlotError(f"Thời điểm phát đã qua: {moment:%H:%M %d/%m/%Y}")
        return SlotRule(start_at=moment)
    assert daily_at is not None
    hour, minute = _hour_minute(daily_at)
    if days is not None and not days:
        raise SlotError("Chọn ít nhất một ngày trong tuần")
    parsed_days = ALL_DAYS if days is None else frozenset(_parse_day(d) for d in days)
    return SlotRule(daily_at=f"{hour:02d}:{minute:02d}", days=parsed_days)


def next_start(rule: SlotRule, after: datetime, tz: str) -> datetime | None:
    """Return the first start of the rule strictly after `after`, in tz; None if a one-off has passed."""
    tzinfo = zone(tz)
    if rule.start_at is not None:
        return rule.start_at.astimezone(tzinfo) if rule.start_at > after else None
    local = after.astimezone(tzinfo)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        if day.weekday() not in rule.days:
            continue
        candidate = datetime.combine(day, rule.time_of_day, tzinfo=tzinfo)
        if candidate > after:
            return candidate
    raise AssertionError("a rule with at least one weekday recurs within 8 days")


def push_time(start_at: datetime, lead_s: float) -> datetime:
    """Return when the command for a play starting at start_at is pushed."""
    return start_at - timedelta(seconds=lead_s)


def misfire_grace_s(rule: SlotRule, lead_s: float) -> int:
    """Return how many seconds after its push time a push may still run (APScheduler wants an int ≥ 1).

    Both kinds must reach agents before start_at, so the grace stays under the lead; a recurring slot
    also gets a small cap and is skipped past it (a missed 05:30 programme must never play at 03:15
    the next night, or at 07:00 when the server comes back).
    """
    grace = max(1, int(lead_s - DELIVERY_MARGIN_S))
    return min(grace, RECURRING_MAX_GRACE_S) if rule.recurring else grace


def one_off_push(start_at: datetime, lead_s: float, now: datetime) -> tuple[datetime, int] | None:
    """Return (run_at, grace_s) of a one-off push (now if its push time has passed); None once started."""
    if start_at <= now:
        return None
    run_at = max(push_time(start_at, lead_s), now)
    remaining = (start_at - run_at).total_seconds()
    return run_at, max(1, int(remaining - DELIVERY_MARGIN_S))


def occurrence_of_push(daily_at: str, fired_at: datetime, tz: str) -> datetime:
    """Return the start a recurring push fired (or scheduled) at fired_at is for.

    The push fires lead seconds before the start and runs at most RECURRING_MAX_GRACE_S late, so the
    start is the first HH:MM after the latest moment the push could have been scheduled for.
    """
    scheduled_no_earlier = fired_at - timedelta(seconds=RECURRING_MAX_GRACE_S + 1)
    start = next_start(SlotRule(daily_at=daily_at), scheduled_no_earlier, tz)
    assert start is not None
    return start


def cron_fields(rule: SlotRule, lead_s: float) -> tuple[frozenset[int], int, int, int]:
    """Return (weekdays, hour, minute, second) at which a recurring rule's push fires.

    The lead may cross midnight: a Monday 00:00 slot pushed 30 s early is pushed on Sunday 23:59:30.
    A fractional lead is rounded up to a whole second (cron has second resolution; earlier is safe).
    """
    reference = datetime.combine(date(2001, 1, 1), rule.time_of_day)  # a Monday
    push = reference - timedelta(seconds=math.ceil(lead_s))
    shift = (push.date() - reference.date()).days
    days = frozenset((day + shift) % 7 for day in rule.days)
    return days, push.hour, push.minute, push.second
