"""The lock that elects one scheduler leader, and what every implementation of it does.

One implementation per module: `postgres` (a session advisory lock; LISTEN/NOTIFY carries requests),
`file` (an exclusive flock beside the SQLite file; a spool directory carries requests) and `sole` (an
in-memory database: its one process always leads). `broadcast.scheduler.election` picks one by URL.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Protocol


class LeadershipLost(RuntimeError):
    """The leader's lock (its database session) is gone."""


class LeaderLock(Protocol):
    """A lock at most one worker holds, plus a channel from any worker to the one holding it."""

    def acquire(self) -> bool:
        """Take the lock if no one holds it; return whether this worker holds it now."""
        ...

    def wait(self, timeout: float, stop: threading.Event) -> list[str]:
        """Hold the lock up to `timeout` (less once `stop` is set); return the messages that came.

        Raise LeadershipLost if the lock is found gone.
        """
        ...

    def release(self) -> None:
        """Give the lock up (nothing if it is not held)."""
        ...

    def send(self, message: str) -> None:
        """Deliver a message to whichever worker holds the lock now (it is lost if none does)."""
        ...


def lock_key(name: str | int) -> int:
    """Return the signed 64-bit advisory lock key of a name (an int is used as it is)."""
    if isinstance(name, int):
        return name
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
