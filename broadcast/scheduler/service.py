"""The programme scheduler: APScheduler 3.11 with a SQLAlchemy job store in the station's database.

One process owns the job store (APScheduler 3 cannot share one between processes). Jobs are
`jobs.push_slot` with plain arguments; the station registers the handler that really pushes.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from broadcast.scheduler import jobs, slots
from broadcast.scheduler.slots import SlotRule

log = logging.getLogger(__name__)

JOB_TABLE = "apscheduler_jobs"
_JOB_PREFIX = "slot-"
_CRON_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

MissedHandler = Callable[[int, datetime], None]
"""Called with (slot id, occurrence start) from the scheduler's thread."""


REFRESH_JOB_ID = "programme-refresh"


def job_id(slot_id: int) -> str:
    """Return the APScheduler job id of a slot."""
    return f"{_JOB_PREFIX}{slot_id}"


def slot_id_of(job_id_: str) -> int | None:
    """Return the slot id of a job id, or None for a job this module did not create."""
    if not job_id_.startswith(_JOB_PREFIX):
        return None
    try:
        return int(job_id_[len(_JOB_PREFIX) :])
    except ValueError:
        return None


class ProgrammeScheduler:
    """Turn slots into persistent push jobs and report the ones that were skipped."""

    def __init__(
        self,
        database_url: str,
        tz: str,
        lead_s: float,
        on_missed: MissedHandler | None = None,
        on_pushed: MissedHandler | None = None,
    ) -> None:
        self.tz = tz
        self.lead_s = lead_s
        self._zone = slots.zone(tz)
        self._on_missed = on_missed
        self._on_pushed = on_pushed  # after each last call ran (or failed): the occurrence is due
        # Job arguments by job id, so a missed event (which carries only the id and the scheduled push
        # time) can be turned into the start that was skipped, even after a date job was removed.
        self._job_args: dict[str, dict[str, Any]] = {}
        self._args_lock = threading.Lock()
        self._scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(url=database_url, tablename=JOB_TABLE)},
            executors={"default": ThreadPoolExecutor(max_workers=8)},
            timezone=self._zone,
        )
        self._scheduler.add_listener(self._on_event, EVENT_JOB_MISSED | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def start(self) -> None:
        """Open the job store and start firing jobs (missed ones are reported, not run)."""
        # Paused first: learn the stored jobs' arguments before any missed event can need them.
        self._scheduler.start(paused=True)
        with self._args_lock:
            for job in self._scheduler.get_jobs():
                self._job_args[job.id] = dict(job.kwargs)
        self._scheduler.resume()

    def shutdown(self, wait: bool = True) -> None:
        """Stop firing jobs; the job store keeps them for the next start."""
        if not self._scheduler.running:
            return
        # APScheduler 3 marks itself stopped without waiting for a job-processing pass in flight; that
        # pass then fails to delete a date job it just ran, which would run again after a restart
        # (apscheduler issues #104/#285). Pausing stops new passes; the job store lock waits one out.
        self._scheduler.pause()
        with self._scheduler._jobstores_lock:
            pass
        self._scheduler.shutdown(wait=wait)

    def add_slot(self, slot_id: int, rule: SlotRule) -> datetime | None:
        """Schedule (or reschedule) the pushes of a slot; return the next push time, None if none."""
        if not self._scheduler.running:
            raise RuntimeError("start the programme scheduler before adding slots")
        ident = job_id(slot_id)
        if rule.start_at is not None:
            plan = slots.one_off_push(rule.start_at, self.lead_s, datetime.now(self._zone))
            if plan is None:
                self.remove_slot(slot_id)
                return None
            run_at, grace = plan
            kwargs: dict[str, Any] = {"slot_id": slot_id, "start_at_iso": rule.start_at.isoformat()}
            trigger: DateTrigger | CronTrigger = DateTrigger(run_date=run_at, timezone=self._zone)
            coalesce = False
        else:
            days, hour, minute, second = slots.cron_fields(rule, self.lead_s)
            kwargs = {"slot_id": slot_id, "daily_at": rule.daily_at, "tz": self.tz}
            trigger = CronTrigger(
                day_of_week=",".join(_CRON_DAYS[d] for d in sorted(days)),
                hour=hour,
                minute=minute,
                second=second,
                timezone=self._zone,
            )
            grace = slots.misfire_grace_s(rule, self.lead_s)
            # After an outage only the latest occurrence is considered, and it too is skipped if late.
            coalesce = True
        with self._args_lock:
            self._job_args[ident] = kwargs
        job = self._scheduler.add_job(
            jobs.push_slot,
            trigger=trigger,
            id=ident,
            name=f"push slot {slot_id}",
            kwargs=kwargs,
            replace_existing=True,
            misfire_grace_time=grace,
            coalesce=coalesce,
            max_instances=1,
        )
        next_run: datetime | None = job.next_run_time
        return next_run

    def ensure_refresh_job(self, interval_s: float) -> datetime | None:
        """Run the programme refresh every `interval_s` (one persistent job; a missed run is just skipped)."""
        job = self._scheduler.add_job(
            jobs.refresh_programmes,
            trigger=IntervalTrigger(seconds=interval_s, timezone=self._zone),
            id=REFRESH_JOB_ID,
            name="refresh programmes",
            replace_existing=True,
            misfire_grace_time=max(1, int(interval_s)),
            coalesce=True,
            max_instances=1,
        )
        next_run: datetime | None = job.next_run_time
        return next_run

    def remove_slot(self, slot_id: int) -> None:
        """Cancel the pushes of a slot (no error if it has none)."""
        ident = job_id(slot_id)
        with self._args_lock:
            self._job_args.pop(ident, None)
        with contextlib.suppress(JobLookupError):
            self._scheduler.remove_job(ident)

    def next_push(self, slot_id: int) -> datetime | None:
        """Return when the slot's next command is pushed, None if it has no pending push."""
        job = self._scheduler.get_job(job_id(slot_id))
        if job is None:
            return None
        next_run: datetime | None = job.next_run_time
        return next_run

    def job_ids(self) -> list[str]:
        """Return the ids of all stored jobs."""
        return sorted(job.id for job in self._scheduler.get_jobs())

    def _on_event(self, event: JobExecutionEvent) -> None:
        slot_id = slot_id_of(event.job_id)
        if slot_id is None:
            return
        with self._args_lock:
            kwargs = self._job_args.get(event.job_id, {})
            if kwargs.get("start_at_iso") is not None:
                # A one-off runs once; its job is gone from the store after this event.
                self._job_args.pop(event.job_id, None)
        handler = self._on_missed if event.code == EVENT_JOB_MISSED else self._on_pushed
        if event.code != EVENT_JOB_MISSED and handler is None:
            return
        try:
            start = jobs.slot_start(
                kwargs.get("start_at_iso"), kwargs.get("daily_at"), kwargs.get("tz"), event.scheduled_run_time
            )
        except ValueError:  # a job stored by an older version: assume it was scheduled lead before start
            start = slots.push_time(event.scheduled_run_time, -self.lead_s)
        if event.code == EVENT_JOB_MISSED:
            # Agents still play it from the programme they hold; last_call records what was not sent.
            log.warning("slot %s: last call for the %s start missed", slot_id, start.isoformat())
        if handler is not None:
            try:
                handler(slot_id, start)
            except Exception:
                log.exception("occurrence handler failed for slot %s", slot_id)
