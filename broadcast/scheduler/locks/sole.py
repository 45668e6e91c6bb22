"""The leader lock of an in-memory SQLite database, which lives in one process: that process always leads."""

from __future__ import annotations

import threading


class SoleLock:
    """Always held; there is no other worker to send to."""

    def acquire(self) -> bool:
        return True

    def wait(self, timeout: float, stop: threading.Event) -> list[str]:
        stop.wait(timeout)
        return []

    def release(self) -> None:
        pass

    def send(self, message: str) -> None:
        raise RuntimeError("an in-memory database has no other worker to lead")
