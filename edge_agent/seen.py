"""Durable set of command ids already received, so redelivered or replayed commands play once."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import IO

from edge_agent._files import fsync_dir

log = logging.getLogger(__name__)

# Keep ids a little past their expiry: a clock step backwards must not turn a stale replay into a new command.
_PRUNE_GRACE_S = 3600.0


class SeenStore:
    """Command ids with their expires_at in an append-only JSON-lines file, compacted on open."""

    def __init__(self, path: Path, now: float | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._expiry: dict[str, float] = {}
        self._handle: IO[str] | None = None
        path.parent.mkdir(parents=True, exist_ok=True)
        self._load()
        self.compact(time.time() if now is None else now)

    def __contains__(self, command_id: object) -> bool:
        with self._lock:
            return command_id in self._expiry

    def __len__(self) -> int:
        with self._lock:
            return len(self._expiry)

    def add(self, command_id: str, expires_at: float) -> None:
        """Record an id durably (fsync) before the command is acted on."""
        line = json.dumps({"id": command_id, "expires_at": expires_at}, ensure_ascii=False) + "\n"
        with self._lock:
            if self._handle is None:
                raise RuntimeError("seen store is closed")
            self._expiry[command_id] = expires_at
            self._handle.write(line)
            self._handle.flush()
            os.fsync(self._handle.fileno())

    def compact(self, now: float) -> None:
        """Drop ids long expired and rewrite the file atomically with the rest."""
        with self._lock:
            self._expiry = {cid: exp for cid, exp in self._expiry.items() if exp + _PRUNE_GRACE_S >= now}
            if self._handle is not None:
                self._handle.close()
            tmp = self.path.with_name(self.path.name + ".tmp")
            with tmp.open("w", encoding="utf-8") as handle:
                for cid, exp in self._expiry.items():
                    handle.write(json.dumps({"id": cid, "expires_at": exp}, ensure_ascii=False) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
            fsync_dir(self.path.parent)
            self._handle = self.path.open("a", encoding="utf-8")

    def close(self) -> None:
        """Close the file; later add() calls fail."""
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None

    def _load(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return
        for number, line in enumerate(text.splitlines(), start=1):
            try:
                entry = json.loads(line)
                command_id, expires_at = entry["id"], float(entry["expires_at"])
                if not isinstance(command_id, str):
                    raise TypeError("id is not a string")
            except (ValueError, KeyError, TypeError) as exc:
                # A power cut during append leaves a torn last line; the id in it was never acted on.
                log.warning("ignoring unreadable line %d of %s: %s", number, self.path, exc)
                continue
            self._expiry[command_id] = expires_at
