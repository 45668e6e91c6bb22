"""What stands in front of report ingest (pure; the clock is injected): a rate per device, two lanes,
and a ledger of what was dropped, in streaks.

One stolen device's credentials published 40,000 reports in under a second; a single consumer took them
in arrival order and other devices' alert acks were recorded a minute late. So: a token bucket per
device, taken in the MQTT callback from the topic alone (no JSON parse), drops a flood's excess before it
costs a database transaction; acknowledgements of alerts and cancels go to their own lane; what is
dropped is counted per device in streaks, so a flooding device is flagged once per streak, not once per
message. Order needs nothing from the lanes: ingest orders a device's state by the agent's report time.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

from broadcast import metrics
from broadcast.limits.token_bucket import Rate, TokenBuckets

Lane = Literal["urgent", "normal"]
DropReason = Literal["rate", "queue", "unknown_command"]
DROP_REASONS: tuple[DropReason, ...] = ("rate", "queue", "unknown_command")
metrics.know_drop_reasons(DROP_REASONS)

# A device's reports: a heartbeat every 30 s, acks and proofs of play, and after an outage its outbox at
# once (a week offline is a few hundred). A flood is thousands a second.
DEFAULT_RATE = Rate(per_minute=1200, burst=1000)
STREAK_GAP_S = 60.0  # a device silent (in drops) this long starts a new streak when it floods again
MAX_URGENT_IDS = 10_000

_TYPE_RECEIVED = re.compile(rb'"type"\s*:\s*"received"')
_COMMAND_ID = re.compile(rb'"command_id"\s*:\s*"([^"\\]{1,64})"')


def device_of(topic: str) -> str | None:
    """Return the device id of a loa/v1/dev/<id>/<kind> topic without validating it (ingest does)."""
    parts = topic.split("/")
    return parts[3] if len(parts) == 5 and parts[2] == "dev" and parts[3] else None


def command_id_of(payload: bytes) -> str | None:
    """Return the command id a report names, found without parsing the JSON (None if none)."""
    found = _COMMAND_ID.search(payload)
    return found.group(1).decode("utf-8", "replace") if found else None


def lane_of(payload: bytes, is_urgent_command: Callable[[str], bool]) -> Lane:
    """Return "urgent" for an acknowledgement of an alert or cancel, else "normal".

    Agents send "received" only for alerts and cancels; a played/rejected report is urgent when it names a
    live alert or cancel command. A device lying about its type gains nothing: the rate is per device.
    """
    if _TYPE_RECEIVED.search(payload):
        return "urgent"
    command_id = command_id_of(payload)
    return "urgent" if command_id is not None and is_urgent_command(command_id) else "normal"


class UrgentIds:
    """Ids of live alert and cancel commands (until they expire); thread-safe, bounded."""

    def __init__(self, clock: Callable[[], float] = time.time, max_ids: int = MAX_URGENT_IDS) -> None:
        self._clock = clock
        self._max_ids = max_ids
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def remember(self, command_id: str, until: float) -> None:
        """Treat reports naming command_id as urgent until `until` (unix time)."""
        with self._lock:
            if len(self._until) >= self._max_ids:
                self._prune(self._clock())
                while len(self._until) >= self._max_ids:  # all live: the soonest to expire goes
                    del self._until[min(self._until, key=self._until.__getitem__)]
            self._until[command_id] = until

    def __call__(self, command_id: str) -> bool:
        with self._lock:
            until = self._until.get(command_id)
            return until is not None and until >= self._clock()

    def _prune(self, now: float) -> None:
        for command_id, until in list(self._until.items()):
            if until < now:
                del self._until[command_id]


@dataclass
class Streak:
    """Reports of one device dropped in a row (no gap of STREAK_GAP_S): when, how many, why."""

    device_id: str
    started_at: float
    last_at: float
    dropped: int = 0  # since the last take()
    total: int = 0  # in the whole streak
    reasons: dict[str, int] = field(default_factory=dict)  # since the last take()
    new: bool = True  # not yet taken: the first take() of a streak flags and audits the device


class DropLedger:
    """Counts of dropped reports: totals by reason (for /metrics) and open streaks per device."""

    def __init__(self, clock: Callable[[], float] = time.time, gap_s: float = STREAK_GAP_S) -> None:
        self._clock = clock
        self._gap_s = gap_s
        self._streaks: dict[str, Streak] = {}
        self.totals: dict[DropReason, int] = dict.fromkeys(DROP_REASONS, 0)
        self._lock = threading.Lock()

    def drop(self, device_id: str, reason: DropReason) -> bool:
        """Count one dropped report; return True if it starts a streak (log it once, not per message)."""
        now = self._clock()
        metrics.report_dropped(reason)
        with self._lock:
            self.totals[reason] += 1
            streak = self._streaks.get(device_id)
            first = streak is None or now - streak.last_at > self._gap_s
            if streak is None or first:
                streak = self._streaks[device_id] = Streak(device_id, now, now)
            streak.last_at = now
            streak.dropped += 1
            streak.total += 1
            streak.reasons[reason] = streak.reasons.get(reason, 0) + 1
            return first

    def take(self, min_total: int = 1) -> list[Streak]:
        """Return copies of the streaks of at least min_total drops with drops since the last call, and
        reset those counts. A streak is returned with new=True once, the first time; ended ones go."""
        now = self._clock()
        taken = []
        with self._lock:
            for device_id, streak in list(self._streaks.items()):
                if streak.dropped and streak.total >= min_total:
                    taken.append(replace(streak, reasons=dict(streak.reasons)))
                    streak.dropped, streak.reasons, streak.new = 0, {}, False
                elif now - streak.last_at > self._gap_s:
                    del self._streaks[device_id]
        return taken

    def counts(self) -> dict[DropReason, int]:
        """Return the dropped reports by reason since start."""
        with self._lock:
            return dict(self.totals)


class ReportGuard:
    """The per-device rate, the urgent command ids and the drop ledger of one station process."""

    def __init__(self, rate: Rate = DEFAULT_RATE, clock: Callable[[], float] = time.time) -> None:
        self.buckets = TokenBuckets(rate, clock=clock)
        self.urgent = UrgentIds(clock)
        self.ledger = DropLedger(clock)

    def admit(self, device_id: str) -> bool:
        """Take one report of device_id from its bucket; False (counted) if it is over its rate."""
        if self.buckets.take(device_id).allowed:
            return True
        self.ledger.drop(device_id, "rate")
        return False

    def lane(self, payload: bytes) -> Lane:
        """Return the lane of an admitted report."""
        return lane_of(payload, self.urgent)
