"""Job callables APScheduler stores by reference, and the runtime hook they call back into the station.

A persistent job store pickles "module:function" plus plain arguments, so the callables live at module
level and take ids and strings; the station's handler (which needs the database, clip store and MQTT)
is registered at runtime and never pickled.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from broadcast.scheduler import slots

log = logging.getLogger(__name__)

SlotHandler = Callable[[int, datetime], None]

RefreshHandler = Callable[[], None]

_lock = threading.Lock()
_handler: SlotHandler | None = None
_refresh: RefreshHandler | None = None


def set_refresh_handler(handler: RefreshHandler | None) -> None:
    """Register the function that re-plans and republishes every zone's programme."""
    global _refresh
    with _lock:
        _refresh = handler


def refresh_programmes() -> None:
    """Extend and republish the programme window (a periodic job: agents keep ~48 h ahead)."""
    with _lock:
        handler = _refresh
    if handler is None:
        log.error("no refresh handler registered; programmes not republished")
        raise RuntimeError("no refresh handler registered")
    handler()


def set_slot_handler(handler: SlotHandler | None) -> None:
    """Register the function that pushes slot `slot_id` starting at `start_at` (None unregisters)."""
    global _handler
    with _lock:
        _handler = handler


def slot_handler() -> SlotHandler | None:
    """Return the registered slot handler."""
    with _lock:
        return _handler


def slot_start(
    start_at_iso: str | None, daily_at: str | None, tz: str | None, fired_at: datetime
) -> datetime:
    """Return the start a push is for: the stored one-off start, or the recurring occurrence it fired for."""
    if start_at_iso is not None:
        start = datetime.fromisoformat(start_at_iso)
        if start.utcoffset() is None:
            raise ValueError(f"stored start_at {start_at_iso!r} has no offset")
        return start
    if daily_at is None or tz is None:
        raise ValueError("a recurring push needs daily_at and tz")
    return slots.occurrence_of_push(daily_at, fired_at, tz)


def push_slot(
    slot_id: int,
    start_at_iso: str | None = None,
    daily_at: str | None = None,
    tz: str | None = None,
) -> None:
    """Push the play command of one slot occurrence through the registered handler.

    One-off: start_at_iso is the start. Recurring: the job fires lead seconds before daily_at (in tz)
    and works out which occurrence it is for from the clock, since APScheduler 3 does not pass the
    scheduled time to the job.
    """
    start = slot_start(start_at_iso, daily_at, tz, datetime.now(UTC))
    handler = slot_handler()
    if handler is None:
        log.error("no slot handler registered; slot %s starting %s is not pushed", slot_id, start)
        raise RuntimeError(f"no slot handler registered (slot {slot_id}, start {start.isoformat()})")
    handler(slot_id, start)
