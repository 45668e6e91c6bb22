"""Reports waiting for the broker's acknowledgement, kept on disk so a restart or power cut loses none."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from edge_agent.journal import Journal

log = logging.getLogger(__name__)

MAX_PENDING = 10_000  # weeks of reports; past this the oldest go (a full SD card would lose them all)
_COMPACT_LINES = 500


class Outbox:
    """An append-only JSON-lines file of reports ({"k", "m"}) and acknowledgements ({"ack"})."""

    def __init__(self, path: Path, max_pending: int = MAX_PENDING) -> None:
        self.path = path
        self.max_pending = max_pending
        self._lock = threading.Lock()
        self._pending: dict[int, bytes] = {}
        self._next = 1
        self._journal = Journal(path, "the reports", self._snapshot)
        self._load()
        with self._lock:
            self._journal.rewrite()

    def add(self, payload: bytes) -> int:
        """Keep a report durably (fsync) and return its key."""
        with self._lock:
            key = self._next
            self._next += 1
            self._pending[key] = payload  # sent even if the disk refuses it
            self._journal.append({"k": key, "m": payload.decode()})
            while len(self._pending) > self.max_pending:
                oldest = min(self._pending)
                log.warning("outbox full: dropping the oldest report (%d)", oldest)
                self._ack(oldest)
            return key

    def ack(self, key: int) -> None:
        """Forget a report the broker acknowledged (a lost ack only means it is sent again)."""
        with self._lock:
            self._ack(key)

    def pending(self) -> list[tuple[int, bytes]]:
        """Return the reports not yet acknowledged, oldest first."""
        with self._lock:
            return sorted(self._pending.items())

    def close(self) -> None:
        """Close the file; later add() and ack() calls fail."""
        with self._lock:
            self._journal.close()

    def _ack(self, key: int) -> None:
        if self._pending.pop(key, None) is None:
            return
        self._journal.append({"ack": key})
        if self._journal.lines > _COMPACT_LINES and self._journal.lines > 4 * len(self._pending):
            self._journal.rewrite()

    def _snapshot(self) -> list[dict[str, object]]:
        return [{"k": key, "m": payload.decode()} for key, payload in sorted(self._pending.items())]

    def _load(self) -> None:
        for number, entry in self._journal.entries():
            if "ack" in entry:
                if isinstance(entry["ack"], int):
                    self._pending.pop(entry["ack"], None)
                continue
            key, message = entry.get("k"), entry.get("m")
            if not isinstance(key, int) or not isinstance(message, str):
                log.warning("ignoring line %d of %s: not a report", number, self.path)
                continue
            self._pending[key] = message.encode()
            self._next = max(self._next, key + 1)
