"""The agent's small background loops (heartbeat, reporter): a daemon thread, a wake-up call, a clean stop."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod


class Loop(ABC):
    """A named daemon thread running _run(); _wake cuts its wait short, stop() ends and joins it."""

    def __init__(self, name: str) -> None:
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def is_alive(self) -> bool:
        """Return True while the thread runs."""
        return self._thread.is_alive()

    def stop(self) -> None:
        """End the thread (it sees _stopping when it next wakes: now)."""
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    @abstractmethod
    def _run(self) -> None:
        """Loop until _stopping is set, waiting on _wake between rounds."""
