"""Programme scheduling: slot rules (pure), importable job callables, the APScheduler service, and the
election of the one worker that runs it (`election`, its lock per database in `locks/`, `elected`).

The service (`broadcast.scheduler.service.ProgrammeScheduler`) is not re-exported here, so importing
the pure slot rules does not load APScheduler and SQLAlchemy. This adapter knows no domain: what the
leader does for the programme is `broadcast.programme.leading`.
"""

from __future__ import annotations

from broadcast.scheduler.jobs import push_slot, set_slot_handler
from broadcast.scheduler.slots import (
    SlotError,
    SlotRule,
    misfire_grace_s,
    next_start,
    parse_rule,
    push_time,
)

__all__ = [
    "SlotError",
    "SlotRule",
    "misfire_grace_s",
    "next_start",
    "parse_rule",
    "push_slot",
    "push_time",
    "set_slot_handler",
]
