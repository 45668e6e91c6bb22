"""The APScheduler adapter against a real SQLite job store, with short real times."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from broadcast.scheduler import jobs
from broadcast.scheduler.service import JOB_TABLE, ProgrammeScheduler
from broadcast.scheduler.slots import SlotRule

TZ = "Asia/Ho_Chi_Minh"
VN = ZoneInfo(TZ)

Calls = list[tuple[int, datetime]]


class Recorder:
    """Collect (slot_id, start) calls from scheduler threads."""

    def __init__(self) -> None:
        self.calls: Calls = []
        self.event = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, slot_id: int, start: datetime) -> None:
        with self._lock:
            self.calls.append((slot_id, start))
        self.event.set()

    def wait(self, timeout: float) -> Calls:
        self.event.wait(timeout)
        with self._lock:
            return list(self.calls)


@pytest.fixture(autouse=True)
def machine_elsewhere(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run on a machine whose local time zone is not the programme's (UTC-7/-8)."""
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def pushed() -> Iterator[Recorder]:
    recorder = Recorder()
    jobs.set_slot_handler(recorder)
    yield recorder
    jobs.set_slot_handler(None)


@pytest.fixture
def make_scheduler(tmp_path: Path) -> Iterator[Callable[..., ProgrammeScheduler]]:
    url = f"sqlite:///{tmp_path / 'station.db'}"
    started: list[ProgrammeScheduler] = []

    def make(lead_s: float = 1.0, on_missed: Recorder | None = None) -> ProgrammeScheduler:
        scheduler = ProgrammeScheduler(url, TZ, lead_s, on_missed=on_missed)
        scheduler.start()
        started.append(scheduler)
        return scheduler

    yield make
    for scheduler in started:
        scheduler.shutdown(wait=False)


def rewrite_stored_job(url: str, job_id: str, **changes: object) -> None:
    """Change a stored job as if the server had died in another state (no scheduler is running).

    Goes through the job store directly: a paused APScheduler still races its own shutdown and may
    process the job it was only meant to edit.
    """
    store = SQLAlchemyJobStore(url=url, tablename=JOB_TABLE)
    store.start(BackgroundScheduler(timezone=VN), "default")
    job = store.lookup_job(job_id)
    assert job is not None
    job._modify(**changes)
    store.update_job(job)
    store.shutdown()


def stored_job_ids(url: str) -> list[str]:
    """Return the ids in the job store without starting a scheduler that could run them."""
    store = SQLAlchemyJobStore(url=url, tablename=JOB_TABLE)
    store.start(BackgroundScheduler(timezone=VN), "default")
    try:
        return [job.id for job in store.get_all_jobs()]
    finally:
        store.shutdown()


def test_one_off_pushes_once_lead_before_start(
    make_scheduler: Callable[..., ProgrammeScheduler], pushed: Recorder
) -> None:
    scheduler = make_scheduler(lead_s=1.0)
    start = datetime.now(VN) + timedelta(seconds=2)
    push = scheduler.add_slot(1, SlotRule(start_at=start))
    assert push == start - timedelta(seconds=1)
    assert scheduler.job_ids() == ["slot-1"]
    assert pushed.wait(4.0) == [(1, start)]
    assert datetime.now(VN) < start  # pushed ahead of the start, not at it
    time.sleep(0.2)
    assert pushed.calls == [(1, start)]
    assert scheduler.job_ids() == []  # a date job is removed once it ran
    assert scheduler.next_push(1) is None


def test_one_off_inside_its_lead_pushes_now(
    make_scheduler: Callable[..., ProgrammeScheduler], pushed: Recorder
) -> None:
    scheduler = make_scheduler(lead_s=30.0)
    start = datetime.now(VN) + timedelta(seconds=5)
    push = scheduler.add_slot(2, SlotRule(start_at=start))
    assert push is not None
    assert push <= datetime.now(VN)
    assert pushed.wait(2.0) == [(2, start)]


def test_one_off_already_started_is_not_scheduled(make_scheduler: Callable[..., ProgrammeScheduler]) -> None:
    scheduler = make_scheduler()
    assert scheduler.add_slot(3, SlotRule(start_at=datetime.now(VN) - timedelta(seconds=1))) is None
    assert scheduler.job_ids() == []


def test_jobs_survive_a_restart_and_fire_once(
    tmp_path: Path, make_scheduler: Callable[..., ProgrammeScheduler], pushed: Recorder
) -> None:
    first = make_scheduler(lead_s=1.0)
    start = datetime.now(VN) + timedelta(seconds=2.5)
    first.add_slot(7, SlotRule(start_at=start))
    first.add_slot(8, SlotRule(daily_at="06:00", days=frozenset({0})))
    first.shutdown()

    second = make_scheduler(lead_s=1.0)
    assert second.job_ids() == ["slot-7", "slot-8"]
    assert pushed.wait(4.0) == [(7, start)]
    time.sleep(0.3)
    assert pushed.calls == [(7, start)]
    assert second.job_ids() == ["slot-8"]


def test_replacing_and_removing_a_slot(make_scheduler: Callable[..., ProgrammeScheduler]) -> None:
    scheduler = make_scheduler(lead_s=30.0)
    first = scheduler.add_slot(4, SlotRule(daily_at="06:00"))
    second = scheduler.add_slot(4, SlotRule(daily_at="18:00"))
    assert scheduler.job_ids() == ["slot-4"]
    assert first is not None
    assert second is not None
    assert (second.hour, second.minute, second.second) == (17, 59, 30)
    assert scheduler.next_push(4) == second
    scheduler.remove_slot(4)
    scheduler.remove_slot(4)  # idempotent
    assert scheduler.job_ids() == []


def expected_push(now: datetime, weekdays: set[int], hour: int, minute: int, second: int) -> datetime:
    """Return the first local HH:MM:SS on one of weekdays after now, counted by hand in Vietnam."""
    local = now.astimezone(VN)
    for offset in range(8):
        day: date = local.date() + timedelta(days=offset)
        candidate = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=VN)
        if day.weekday() in weekdays and candidate > local:
            return candidate
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    ("daily_at", "days", "lead_s", "push_weekdays", "push_hms"),
    [
        ("07:00", {0, 2, 4}, 30.0, {0, 2, 4}, (6, 59, 30)),  # Mon/Wed/Fri
        ("18:30", {5, 6}, 120.0, {5, 6}, (18, 28, 0)),  # weekend
        ("00:00", {0}, 30.0, {6}, (23, 59, 30)),  # Monday midnight: pushed Sunday night
        ("00:00", set(range(7)), 45.0, set(range(7)), (23, 59, 15)),
    ],
)
def test_recurring_next_push_in_programme_time(
    make_scheduler: Callable[..., ProgrammeScheduler],
    daily_at: str,
    days: set[int],
    lead_s: float,
    push_weekdays: set[int],
    push_hms: tuple[int, int, int],
) -> None:
    scheduler = make_scheduler(lead_s=lead_s)
    now = datetime.now(VN)
    push = scheduler.add_slot(9, SlotRule(daily_at=daily_at, days=frozenset(days)))
    assert push == expected_push(now, push_weekdays, *push_hms)
    assert push is not None
    assert push.utcoffset() == timedelta(hours=7)
    assert scheduler.next_push(9) == push


def test_missed_recurring_push_is_skipped_and_reported(
    tmp_path: Path, make_scheduler: Callable[..., ProgrammeScheduler], pushed: Recorder
) -> None:
    first = make_scheduler(lead_s=30.0)
    # A daily slot two minutes ago: the server "died" before its push and comes back now.
    occurrence = (datetime.now(VN) - timedelta(minutes=2)).replace(second=0, microsecond=0)
    first.add_slot(5, SlotRule(daily_at=f"{occurrence:%H:%M}"))
    first.shutdown()
    url = f"sqlite:///{tmp_path / 'station.db'}"
    rewrite_stored_job(url, "slot-5", next_run_time=occurrence - timedelta(seconds=30))

    missed = Recorder()
    second = make_scheduler(lead_s=30.0, on_missed=missed)
    assert missed.wait(3.0) == [(5, occurrence)]
    time.sleep(0.2)
    assert pushed.calls == []  # skipped, never played late
    assert second.next_push(5) == occurrence + timedelta(days=1) - timedelta(seconds=30)


def test_missed_one_off_is_reported_with_its_start(
    tmp_path: Path, make_scheduler: Callable[..., ProgrammeScheduler], pushed: Recorder
) -> None:
    first = make_scheduler(lead_s=3.0)
    first.add_slot(6, SlotRule(start_at=datetime.now(VN) + timedelta(minutes=5)))
    first.shutdown()
    # As if the server had been down across the push and the start.
    start = (datetime.now(VN) - timedelta(seconds=2)).replace(microsecond=0)
    url = f"sqlite:///{tmp_path / 'station.db'}"
    rewrite_stored_job(
        url,
        "slot-6",
        next_run_time=start - timedelta(seconds=3),
        kwargs={"slot_id": 6, "start_at_iso": start.isoformat()},
    )

    missed = Recorder()
    second = make_scheduler(lead_s=3.0, on_missed=missed)
    assert missed.wait(3.0) == [(6, start)]
    time.sleep(0.2)
    assert pushed.calls == []
    assert second.job_ids() == []


def test_shutdown_right_after_a_push_leaves_no_job_to_rerun(tmp_path: Path, pushed: Recorder) -> None:
    # Unguarded, APScheduler 3 left the finished date job in the store about one time in four.
    for attempt in range(20):
        url = f"sqlite:///{tmp_path / f'station-{attempt}.db'}"
        scheduler = ProgrammeScheduler(url, TZ, 30.0)
        scheduler.start()
        pushed.event.clear()
        scheduler.add_slot(1, SlotRule(start_at=datetime.now(VN) + timedelta(seconds=5)))
        assert pushed.event.wait(2)
        scheduler.shutdown(wait=False)
        assert stored_job_ids(url) == []
