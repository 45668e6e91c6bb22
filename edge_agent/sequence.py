"""The command sequence numbers this agent accepted, kept across restarts: a replay is refused by number.

The station numbers every command it signs from one counter that only grows. Ids and expiry already stop
most replays, but ids are forgotten an hour after expiry and expiry trusts this Pi's clock (no RTC: it
boots with a stale time until NTP answers). Sequence numbers need no clock: a command numbered at or
below the highest accepted one is refused.

Not strictly: commands are signed in one order and can arrive in another (an alert retried to a device
that missed it, two officers sending at once). So, like IPsec's anti-replay window (RFC 4303 §3.4.3),
numbers up to WINDOW below the highest are still accepted once each, and the ones accepted are
remembered exactly. Programme entries are not numbered here: the programme's own version, which only
grows per zone, stops an old programme, and entries are signed long before they play.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge_agent._files import try_atomic_write

log = logging.getLogger(__name__)

# Commands the station signs (for every zone) between a command and a later one that overtook it. A few
# hundred a day in a commune: 4096 covers an alert retried across its whole validity, and bounds how old
# a never-received command may be when it arrives.
WINDOW = 4096


@dataclass(frozen=True)
class SeqWindow:
    """The highest accepted sequence number and the accepted numbers within WINDOW below it."""

    high: int = 0
    recent: frozenset[int] = field(default_factory=frozenset)

    def refuse(self, seq: int) -> str | None:
        """Return why a command numbered seq is a replay, or None if it may be accepted."""
        if seq > self.high:
            return None
        if seq in self.recent:
            return f"replayed: sequence number {seq} was already accepted"
        if seq <= self.high - WINDOW:
            return f"replayed: sequence number {seq} is far below the last accepted {self.high}"
        return None  # overtaken by a later command, never accepted before: a late arrival

    def accept(self, seq: int) -> SeqWindow:
        """Return the window once seq is accepted."""
        high = max(self.high, seq)
        return SeqWindow(high, frozenset(s for s in (*self.recent, seq) if s > high - WINDOW))


class SequenceStore:
    """The window in a JSON file, rewritten atomically (fsync) whenever a command is accepted."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._window = _load(path)

    def window(self) -> SeqWindow:
        """Return the current window (what decide() checks against)."""
        with self._lock:
            return self._window

    def accept(self, seq: int) -> None:
        """Record seq durably before the command is acted on (kept in memory if the disk is full)."""
        with self._lock:
            self._window = self._window.accept(seq)
            data = {"high": self._window.high, "recent": sorted(self._window.recent)}
            try_atomic_write(self.path, json.dumps(data).encode(), "the accepted sequence numbers")


def _load(path: Path) -> SeqWindow:
    try:
        state: Any = json.loads(path.read_bytes())
        high = int(state["high"])
        recent = frozenset(int(s) for s in state["recent"])
    except FileNotFoundError:
        return SeqWindow()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        # Written atomically, so only a failing SD card gets here; ids and expiry still stop replays.
        log.error("ignoring unreadable %s (replays are refused by id and expiry only): %s", path, exc)
        return SeqWindow()
    return SeqWindow(high, frozenset(s for s in recent if s > high - WINDOW))
