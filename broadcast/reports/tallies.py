"""Report arithmetic: the period asked for, and plays counted per local day per zone (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from broadcast import csv_export, domain

MAX_DAYS = 92  # a quarter: enough for a report to the district, small enough to stay fast


@dataclass(frozen=True)
class Period:
    """Local calendar days `first`..`last`, both included."""

    first: date
    last: date

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def bounds(self, tz: tzinfo) -> tuple[datetime, datetime]:
        """Return [start, end) as aware datetimes: local midnight of the first day to after the last."""
        start = datetime.combine(self.first, time(0), tzinfo=tz)
        end = datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=tz)
        return start, end


def parse_period(since: str, until: str, today: date, default_days: int = 7) -> Period:
    """Return the period of two ISO dates from a form (blank: the last `default_days` days to today)."""
    try:
        last = date.fromisoformat(until) if until.strip() else today
        first = date.fromisoformat(since) if since.strip() else last - timedelta(days=default_days - 1)
    except ValueError:
        raise domain.Invalid("Ngày không hợp lệ (dùng dạng năm-tháng-ngày, ví dụ 2025-05-15).") from None
    if first > last:
        raise domain.Invalid("Ngày bắt đầu phải trước hoặc bằng ngày kết thúc.")
    if (last - first).days + 1 > MAX_DAYS:
        raise domain.Invalid(f"Khoảng thời gian tối đa {MAX_DAYS} ngày.")
    return Period(first, last)


@dataclass(frozen=True)
class PlayedRow:
    """One 'played' report, with the zone of the device that sent it."""

    zone: str
    device_id: str
    command_id: str
    started_at: datetime


@dataclass(frozen=True)
class DayCount:
    day: date
    items: int  # distinct programme items / alerts heard in the zone that day
    device_plays: int  # reports from its clusters (one item on 5 clusters counts 5)


def plays_per_day(
    rows: Iterable[PlayedRow], period: Period, zones: Sequence[str], tz: tzinfo
) -> dict[str, list[DayCount]]:
    """Return, for every zone asked for, one count per day of the period (days with nothing count 0)."""
    items: dict[tuple[str, date], set[str]] = {}
    plays: dict[tuple[str, date], int] = {}
    wanted = set(zones)
    for row in rows:
        if row.zone not in wanted:
            continue
        key = (row.zone, row.started_at.astimezone(tz).date())
        items.setdefault(key, set()).add(row.command_id)
        plays[key] = plays.get(key, 0) + 1
    return {
        zone: [DayCount(d, len(items.get((zone, d), ())), plays.get((zone, d), 0)) for d in period.days]
        for zone in zones
    }


def totals_per_day(per_zone: dict[str, list[DayCount]], period: Period) -> list[DayCount]:
    """Return the sum over zones for each day (an item aired in two zones counts in each)."""
    return [
        DayCount(
            day,
            sum(counts[i].items for counts in per_zone.values()),
            sum(counts[i].device_plays for counts in per_zone.values()),
        )
        for i, day in enumerate(period.days)
    ]


def per_day_csv(per_zone: dict[str, list[DayCount]], zone_names: dict[str, str]) -> str:
    """Return the per-day-per-zone counts as CSV (for a commune's spreadsheet)."""
    header = ["ngay", "vung", "ten_vung", "so_ban_tin", "so_luot_loa"]
    return csv_export.to_csv(
        header,
        (
            [c.day.isoformat(), zone, zone_names.get(zone, zone), c.items, c.device_plays]
            for zone, counts in per_zone.items()
            for c in counts
        ),
    )


@dataclass(frozen=True)
class SkippedRow:
    """A programme occurrence (or part of it) the station did not send, and why."""

    start_at: datetime
    slot_id: int
    title: str
    zones: tuple[str, ...]
    reason: str


def skipped_csv(rows: Iterable[SkippedRow], tz: tzinfo, zone_names: dict[str, str]) -> str:
    """Return the station's skipped occurrences as CSV (local times)."""
    header = ["thoi_diem", "khung_gio", "ten_khung", "vung", "ten_vung", "ly_do"]
    return csv_export.to_csv(
        header,
        (
            [
                r.start_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
                r.slot_id,
                r.title,
                " ".join(r.zones),
                " ".join(zone_names.get(z, z) for z in r.zones),
                r.reason,
            ]
            for r in rows
        ),
    )


def _number(value: object) -> int | float:
    return value if isinstance(value, int | float) else 0


def _daily_row(day: date, zone: dict[str, object]) -> list[csv_export.Cell]:
    devices, silent, problems = zone.get("devices"), zone.get("silent_devices"), zone.get("problems")
    return [
        day.isoformat(),
        str(zone.get("zone", "")),
        len(devices) if isinstance(devices, list) else 0,
        _number(zone.get("items", 0)),
        _number(zone.get("plays", 0)),
        _number(zone.get("minutes_played", 0)),
        " ".join(str(s) for s in silent) if isinstance(silent, list) else "",
        len(problems) if isinstance(problems, list) else 0,
    ]


def daily_csv(day: date, report: Sequence[dict[str, object]]) -> str:
    """Return a day's per-zone summary (play_log.daily_report) as CSV, one row per zone."""
    header = [
        "ngay",
        "vung",
        "so_cum_loa",
        "so_ban_tin",
        "so_luot_phat",
        "so_phut",
        "cum_loa_khong_phat",
        "su_co",
    ]
    return csv_export.to_csv(header, (_daily_row(day, zone) for zone in report))
