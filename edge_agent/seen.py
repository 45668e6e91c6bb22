"""Durable set of command ids already received, so redelivered or replayed commands play once."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from edge_agent.journal import Journal

log = logging.getLogger(__name__)

# Keep ids a little past their expiry: a clock step backwards must not turn a stale replay into a new command.
_PRUNE_GRACE_S = 3600.0


class SeenStore:
    """Command ids with their expires_at in an append-only JSON-lines file, compacted on open."""

    def __init__(self, path: Path, now: float | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._expiry: dict[str, float] = {}
        self._journal = Journal(path, "the received command ids", self._snapshot)
        self._load()
        self.compact(time.time() if now is None else now)

    def __contains__(self, command_id: object) -> bool:
        with self._lock:
            return command_id in self._expiry

    def __len__(self) -> int:
        with self._lock:
            return len(self._expiry)

    def add(self, command_id: str, expires_at: float) -> None:
        """Record an id durably (fsync) before the command is acted on (in memory if the disk is full)."""
        with self._lock:
            self._expiry[command_id] = expires_at  # kept in memory even if the disk refuses: it plays once
            self._journal.append({"id": command_id, "expires_at": expires_at})

    def compact(self, now: float) -> None:
        """Drop ids long expired and rewrite the file atomically with the rest."""
        with self._lock:
            self._expiry = {cid: exp for cid, exp in self._expiry.items() if exp + _PRUNE_GRACE_S >= now}
            self._journal.rewrite()

    def close(self) -> None:
        """Close the file; later add() calls fail."""
        with self._lock:
            self._journal.close()

    def _snapshot(self) -> list[dict[str, object]]:
        return [{"id": cid, "expires_at": exp} for cid, exp in self._expiry.items()]

    def _load(self) -> None:
        for number, entry in self._journal.entries():
            command_id, expires_at = entry.get("id"), entry.get("expires_at")
            if not isinstance(command_id, str) or not isinstance(expires_at, int | float):
                log.warning("ignoring line %d of %s: no id and expiry", number, self.path)
                continue
            self._expiry[command_id] = float(expires_at)
