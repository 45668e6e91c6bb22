"""Durable set of command ids already received, so redelivered or replayed commands play once."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import IO

from edge_agent._files import close_quietly, describe, fsync_dir

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
        self._dirty = False  # an append failed (disk full): the next add rewrites the whole file
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
        """Record an id durably (fsync) before the command is acted on (in memory if the disk is full)."""
        line = json.dumps({"id": command_id, "expires_at": expires_at}, ensure_ascii=False) + "\n"
        with self._lock:
            if self._handle is None:
                raise RuntimeError("seen store is closed")
            self._expiry[command_id] = expires_at
            if self._dirty:
                self._rewrite()
                return
            try:
                self._handle.write(line)
                self._handle.flush()
                os.fsync(self._handle.fileno())
            except OSError as exc:
                # Kept in memory, so it still plays once; the whole file is written again at the next add.
                log.error(
                    "could not save received command %s to %s: %s", command_id, self.path, describe(exc)
                )
                self._dirty = True

    def compact(self, now: float) -> None:
        """Drop ids long expired and rewrite the file atomically with the rest."""
        with self._lock:
            self._expiry = {cid: exp for cid, exp in self._expiry.items() if exp + _PRUNE_GRACE_S >= now}
            self._rewrite()

    def close(self) -> None:
        """Close the file; later add() calls fail."""
        with self._lock:
            if self._handle is not None:
                close_quietly(self._handle)
                self._handle = None

    def _rewrite(self) -> None:
        """Write every id to a new file and swap it in; if the disk refuses, keep the old file for now."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            with tmp.open("w", encoding="utf-8") as handle:
                for cid, exp in self._expiry.items():
                    handle.write(json.dumps({"id": cid, "expires_at": exp}, ensure_ascii=False) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
            fsync_dir(self.path.parent)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            log.error("could not save the received command ids to %s: %s", self.path, describe(exc))
            self._dirty = True
            if self._handle is None:
                self._handle = self.path.open("a", encoding="utf-8")
            return
        if self._dirty:
            log.warning("saved the received command ids to %s again (%d ids)", self.path, len(self._expiry))
        old, self._handle, self._dirty = self._handle, self.path.open("a", encoding="utf-8"), False
        if old is not None:
            close_quietly(old)  # its unwritten buffer (a failed append) goes to the replaced file only

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
