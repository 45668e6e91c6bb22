"""The scheduler of one station worker: it plans directly while it leads, and hands requests over otherwise.

A follower's request (add or remove a slot) travels as a small JSON message through the leader lock
(NOTIFY on PostgreSQL, a spool directory on SQLite); the follower tells its caller when the leader will
push, computed as the leader's scheduler computes it.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from broadcast.scheduler import slots
from broadcast.scheduler.election import LeaderElection
from broadcast.scheduler.service import ProgrammeScheduler
from broadcast.scheduler.slots import SlotRule

log = logging.getLogger(__name__)

SCHEDULER_LOCK = "broadcast.scheduler"


def request_message(op: str, slot_id: int, rule: SlotRule | None = None) -> str:
    """Return a follower's planning request ("add" with a rule, or "remove") as the leader reads it."""
    body: dict[str, Any] = {"op": op, "slot": slot_id}
    if rule is not None:
        body["start_at"] = rule.start_at.isoformat() if rule.start_at is not None else None
        body["daily_at"] = rule.daily_at
        body["days"] = sorted(rule.days)
    return json.dumps(body)


def _rule_of(body: dict[str, Any]) -> SlotRule:
    if body.get("start_at"):
        return SlotRule(start_at=datetime.fromisoformat(body["start_at"]))
    return SlotRule(daily_at=body["daily_at"], days=frozenset(int(d) for d in body["days"]))


def predicted_push(rule: SlotRule, lead_s: float, tz: str, now: datetime) -> datetime | None:
    """Return when the leader will push a slot's next occurrence (what a follower tells the user)."""
    if rule.start_at is not None:
        plan = slots.one_off_push(rule.start_at, lead_s, now)
        return plan[0] if plan is not None else None
    lead = math.ceil(lead_s)  # cron has whole seconds: the leader's recurring push rounds the lead up
    start = slots.next_start(rule, now + timedelta(seconds=lead), tz)
    return slots.push_time(start, lead) if start is not None else None


class ElectedScheduler:
    """The SlotPlanner of one worker: plans directly while it leads, hands requests over otherwise.

    A fresh ProgrammeScheduler is made for each term (a shut-down APScheduler cannot start again).
    `on_elected(scheduler)` runs right after it starts: the leader-only set-up (restore slots,
    periodic jobs).
    """

    def __init__(
        self,
        make_scheduler: Callable[[], ProgrammeScheduler],
        database_url: str,
        *,
        on_elected: Callable[[ProgrammeScheduler], object] | None = None,
        key: str | int = SCHEDULER_LOCK,
        retry_s: float = 2.0,
        check_s: float = 1.0,
    ) -> None:
        self._make = make_scheduler
        self._scheduler = make_scheduler()
        self._terms = 0
        self._leading = False  # set only once the term's scheduler runs and its set-up is done
        self._wait_on_stop = False
        self._on_elected = on_elected
        self._state = threading.RLock()
        self.election = LeaderElection(
            database_url,
            key,
            self._elected,
            self._lost,
            on_message=self._apply,
            retry_s=retry_s,
            check_s=check_s,
        )

    @property
    def is_leader(self) -> bool:
        return self._leading

    @property
    def running(self) -> bool:
        """Return True if scheduling is covered: this worker leads, or is ready to take over."""
        with self._state:
            return self._scheduler.running if self._leading else self.election.alive

    def start(self) -> None:
        """Join the election; a sole worker is leader, with its scheduler running, when this returns."""
        self.election.start()

    def shutdown(self, wait: bool = True) -> None:
        """Leave the election; a leader stops its scheduler first, then frees the lock."""
        self._wait_on_stop = wait
        self.election.stop()

    def add_slot(self, slot_id: int, rule: SlotRule) -> datetime | None:
        """Schedule a slot's pushes (via the leader if another worker leads); return the next push."""
        with self._state:
            if self._leading:
                return self._scheduler.add_slot(slot_id, rule)
            scheduler = self._scheduler
        self._hand_over(request_message("add", slot_id, rule))
        return predicted_push(rule, scheduler.lead_s, scheduler.tz, datetime.now(UTC))

    def remove_slot(self, slot_id: int) -> None:
        """Cancel a slot's pushes (via the leader if another worker leads)."""
        with self._state:
            if self._leading:
                self._scheduler.remove_slot(slot_id)
                return
        self._hand_over(request_message("remove", slot_id))

    def next_push(self, slot_id: int) -> datetime | None:
        """Return the slot's next push as this worker's scheduler knows it (None on a follower)."""
        with self._state:
            return self._scheduler.next_push(slot_id) if self._leading else None

    def job_ids(self) -> list[str]:
        """Return the leader's stored job ids (empty on a follower)."""
        with self._state:
            return self._scheduler.job_ids() if self._leading else []

    def _hand_over(self, message: str) -> None:
        try:
            self.election.send(message)
        except Exception:
            # The slot row is committed: the next leader's restore plans it, and the programme refresh
            # publishes it meanwhile.
            log.exception("could not hand %s to the scheduler leader", message)

    def _elected(self) -> None:
        with self._state:
            if self._terms:
                self._scheduler = self._make()
            self._terms += 1
            self._scheduler.start()
            if self._on_elected is not None:
                self._on_elected(self._scheduler)
            self._leading = True

    def _lost(self) -> None:
        with self._state:
            self._leading = False
            self._scheduler.shutdown(wait=self._wait_on_stop)

    def _apply(self, message: str) -> None:
        body = json.loads(message)
        with self._state:
            if not self._leading:
                return  # the next leader's restore reads the slots table instead
            if body["op"] == "remove":
                self._scheduler.remove_slot(int(body["slot"]))
            else:
                self._scheduler.add_slot(int(body["slot"]), _rule_of(body))
