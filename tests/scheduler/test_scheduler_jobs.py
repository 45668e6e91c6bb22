"""Job callables: which start a push is for, and the runtime handler hook."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from broadcast.scheduler import jobs

TZ = "Asia/Ho_Chi_Minh"
VN = ZoneInfo(TZ)


@pytest.fixture(autouse=True)
def no_handler() -> Iterator[None]:
    jobs.set_slot_handler(None)
    yield
    jobs.set_slot_handler(None)


def test_push_one_off_calls_handler_with_stored_start() -> None:
    calls: list[tuple[int, datetime]] = []
    jobs.set_slot_handler(lambda slot_id, start: calls.append((slot_id, start)))
    jobs.push_slot(3, "2025-06-04T07:00:00+07:00")
    assert calls == [(3, datetime(2025, 6, 4, 7, tzinfo=VN))]


def test_push_recurring_works_out_the_occurrence_from_the_clock() -> None:
    calls: list[tuple[int, datetime]] = []
    jobs.set_slot_handler(lambda slot_id, start: calls.append((slot_id, start)))
    soon = (datetime.now(VN) + timedelta(minutes=2)).replace(second=0, microsecond=0)
    jobs.push_slot(4, daily_at=f"{soon:%H:%M}", tz=TZ)
    assert calls == [(4, soon)]


def test_push_without_handler_raises() -> None:
    with pytest.raises(RuntimeError, match="no slot handler registered"):
        jobs.push_slot(5, "2025-06-04T07:00:00+07:00")


@pytest.mark.parametrize(
    ("start_at_iso", "daily_at", "tz", "fired_at", "expected"),
    [
        (
            "2025-06-04T07:00:00+07:00",
            None,
            None,
            datetime(2025, 6, 4, tzinfo=VN),
            datetime(2025, 6, 4, 7, tzinfo=VN),
        ),
        (None, "00:00", TZ, datetime(2025, 6, 4, 23, 59, 30, tzinfo=VN), datetime(2025, 6, 5, tzinfo=VN)),
        (
            None,
            "05:30",
            TZ,
            datetime(2025, 6, 3, 22, 29, 40, tzinfo=ZoneInfo("UTC")),
            datetime(2025, 6, 4, 5, 30, tzinfo=VN),
        ),
    ],
)
def test_slot_start(
    start_at_iso: str | None, daily_at: str | None, tz: str | None, fired_at: datetime, expected: datetime
) -> None:
    assert jobs.slot_start(start_at_iso, daily_at, tz, fired_at) == expected


@pytest.mark.parametrize(
    ("start_at_iso", "daily_at", "tz"),
    [("2025-06-04T07:00", None, None), (None, "05:30", None), (None, None, TZ)],
)
def test_slot_start_rejects_incomplete_arguments(
    start_at_iso: str | None, daily_at: str | None, tz: str | None
) -> None:
    with pytest.raises(ValueError, match=r"offset|needs daily_at"):
        jobs.slot_start(start_at_iso, daily_at, tz, datetime.now(VN))
