"""What the elected scheduler leader does for the programme: restore the slots, refresh, make last calls.

The scheduler adapter (`broadcast.scheduler`) elects one worker and runs its jobs; this module tells it
what the programme needs when a worker takes the lead.
"""

from __future__ import annotations

from datetime import datetime

from broadcast.config import ProgrammeSettings
from broadcast.programme import last_call
from broadcast.programme.workflow import restore_slots
from broadcast.scheduler.elected import ElectedScheduler
from broadcast.scheduler.planner import parse_quiet_hours
from broadcast.scheduler.service import ProgrammeScheduler
from broadcast.storage.db import Database


def elected_scheduler(section: ProgrammeSettings, db: Database) -> ElectedScheduler:
    """Return the station's scheduler: only the elected worker runs jobs, restoring slots when elected."""

    def lead(scheduler: ProgrammeScheduler) -> None:
        scheduler.ensure_refresh_job(section.programme_refresh_s)
        with db.session() as session:
            restore_slots(session, scheduler)

    quiet = parse_quiet_hours(section.quiet_hours)

    def due(slot_id: int, start: datetime) -> None:
        """Record what of this occurrence is not sent (its last call ran, or was missed in an outage)."""
        last_call.record(db, slot_id, start, quiet, section.timezone)

    return ElectedScheduler(
        lambda: ProgrammeScheduler(
            db.url, section.timezone, section.push_lead_s, on_missed=due, on_pushed=due
        ),
        db.url,
        on_elected=lead,
    )
