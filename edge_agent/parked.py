"""Messages signed by a station key this agent does not know yet, kept a while for a key update.

After a key rotation an agent that was offline may get a command or programme signed with the new key
before the retained key update that announces it (a persistent session's queued messages come before
the retained ones). Such a message is rejected and reported as usual, but kept here; if a key update
arrives within PARK_S it is handled again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

PARK_S = 900.0
MAX_PARKED = 100  # a flood of forged messages with made-up key ids must not fill the memory


class Parked:
    """(topic, payload) pairs by arrival, oldest dropped first."""

    def __init__(self, park_s: float = PARK_S, max_parked: int = MAX_PARKED) -> None:
        self.park_s, self.max_parked = park_s, max_parked
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[str, bytes], float] = OrderedDict()

    def add(self, topic: str, payload: bytes, now: float) -> None:
        """Keep a message until a key update (or PARK_S)."""
        with self._lock:
            self._items.pop((topic, payload), None)
            self._items[(topic, payload)] = now
            while len(self._items) > self.max_parked:
                self._items.popitem(last=False)

    def take(self, now: float) -> list[tuple[str, bytes]]:
        """Return and forget the messages parked less than PARK_S ago, oldest first."""
        with self._lock:
            items = [key for key, at in self._items.items() if now - at < self.park_s]
            self._items.clear()
            return items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
