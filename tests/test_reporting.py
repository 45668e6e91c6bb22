"""Report arithmetic: the period from a form, plays per local day per zone, the CSV files (pure)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from broadcast import domain
from broadcast.reports.tallies import (
    MAX_DAYS,
    Period,
    PlayedRow,
    daily_csv,
    parse_period,
    per_day_csv,
    plays_per_day,
    totals_per_day,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
TODAY = date(2025, 5, 15)


def test_blank_form_means_the_last_seven_days() -> None:
    assert parse_period("", "", TODAY) == Period(date(2025, 5, 9), TODAY)
    assert len(parse_period("", "", TODAY).days) == 7
    assert parse_period("2025-05-01", "2025-05-03", TODAY).days == [date(2025, 5, d) for d in (1, 2, 3)]


@pytest.mark.parametrize(
    ("since", "until", "message"),
    [
        ("15/05/2025", "", "Ngày không hợp lệ"),
        ("2025-05-10", "2025-05-01", "Ngày bắt đầu phải trước"),
        ("2024-01-01", "2025-01-01", f"tối đa {MAX_DAYS} ngày"),
    ],
)
def test_bad_periods_are_refused_in_vietnamese(since: str, until: str, message: str) -> None:
    with pytest.raises(domain.Invalid, match=message):
        parse_period(since, until, TODAY)


def test_bounds_are_local_midnights() -> None:
    start, end = Period(date(2025, 5, 1), date(2025, 5, 2)).bounds(VN)
    assert start.astimezone(UTC) == datetime(2025, 4, 30, 17, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2025, 5, 2, 17, tzinfo=UTC)


def test_plays_are_counted_per_local_day_and_zone() -> None:
    period = Period(date(2025, 5, 1), date(2025, 5, 3))
    rows = [
        # 23:30 UTC on 30 April is 06:30 on 1 May in Vietnam
        PlayedRow("t1", "a", "cmd-1", datetime(2025, 4, 30, 23, 30, tzinfo=UTC)),
        PlayedRow("t1", "b", "cmd-1", datetime(2025, 4, 30, 23, 30, tzinfo=UTC)),
        PlayedRow("t1", "a", "cmd-2", datetime(2025, 5, 1, 10, 0, tzinfo=UTC)),
        PlayedRow("t2", "c", "cmd-1", datetime(2025, 5, 2, 18, 0, tzinfo=UTC)),  # 01:00 on 3 May
        PlayedRow("t9", "z", "cmd-9", datetime(2025, 5, 2, 1, 0, tzinfo=UTC)),  # a zone not asked for
    ]
    per_zone = plays_per_day(rows, period, ["t1", "t2"], VN)
    assert [(c.items, c.device_plays) for c in per_zone["t1"]] == [(2, 3), (0, 0), (0, 0)]
    assert [(c.items, c.device_plays) for c in per_zone["t2"]] == [(0, 0), (0, 0), (1, 1)]
    totals = totals_per_day(per_zone, period)
    assert [(c.day.day, c.items, c.device_plays) for c in totals] == [(1, 2, 3), (2, 0, 0), (3, 1, 1)]


def _rows(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")  # spreadsheets need the BOM to read UTF-8
    return list(csv.reader(io.StringIO(text[1:])))


def test_per_day_csv() -> None:
    period = Period(date(2025, 5, 1), date(2025, 5, 2))
    per_zone = plays_per_day(
        [PlayedRow("t1", "a", "c1", datetime(2025, 5, 1, 3, tzinfo=UTC))], period, ["t1"], VN
    )
    rows = _rows(per_day_csv(per_zone, {"t1": "Thôn Một"}))
    assert rows == [
        ["ngay", "vung", "ten_vung", "so_ban_tin", "so_luot_loa"],
        ["2025-05-01", "t1", "Thôn Một", "1", "1"],
        ["2025-05-02", "t1", "Thôn Một", "0", "0"],
    ]


def test_daily_csv() -> None:
    report: list[dict[str, object]] = [
        {
            "zone": "t1",
            "devices": ["a", "b"],
            "plays": 3,
            "minutes_played": 1.5,
            "items": 2,
            "silent_devices": ["b"],
            "problems": [{"device": "b", "reason": "x"}],
        }
    ]
    rows = _rows(daily_csv(date(2025, 5, 1), report))
    assert rows[1] == ["2025-05-01", "t1", "2", "2", "3", "1.5", "b", "1"]
