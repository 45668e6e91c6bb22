"""Tell the station about commands that will not play: at once, or a repeated refusal the first time only."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from broadcast import protocol

log = logging.getLogger(__name__)

_MAX_REPORTED = 10_000


class Refusals:
    """Report CommandRejected through the outbox; shared by the planner, the pipeline and the controls."""

    def __init__(self, device_id: str, report: Callable[[protocol.AgentMessage], None]) -> None:
        self.device_id = device_id
        self._report = report
        self._lock = threading.Lock()
        self._reported: set[tuple[str, str]] = set()

    def reject(self, command_id: str, reason: str) -> None:
        """Report a command that will not play."""
        self._report(
            protocol.CommandRejected(device_id=self.device_id, command_id=command_id, reason=reason[:500])
        )

    def once(self, key: tuple[str, str], command_id: str, reason: str, what: str) -> None:
        """Log and report a refusal the first time only: a programme comes back on every reconnect."""
        with self._lock:
            if key in self._reported:
                return
            if len(self._reported) >= _MAX_REPORTED:
                self._reported.clear()
            self._reported.add(key)
        log.warning("%s: %s", what, reason)
        self.reject(command_id, reason)
