"""Reports waiting for the broker's acknowledgement, kept on disk so a restart or power cut loses none."""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import IO

from edge_agent._files import close_quietly, describe, fsync_dir

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
        self._lines = 0
        self._handle: IO[str] | None = None
        self._dirty = False  # an append failed (disk full): the next change rewrites the whole file
        path.parent.mkdir(parents=True, exist_ok=True)
        self._load()
        with self._lock:
            self._compact()

    def add(self, payload: bytes) -> int:
        """Keep a report durably (fsync) and return its key."""
        with self._lock:
            key = self._next
            self._next += 1
            self._pending[key] = payload
            self._append({"k": key, "m": payload.decode()})
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
            if self._handle is not None:
                close_quietly(self._handle)
                self._handle = None

    def _ack(self, key: int) -> None:
        if self._pending.pop(key, None) is None:
            return
        self._append({"ack": key})
        if self._lines > _COMPACT_LINES and self._lines > 4 * len(self._pending):
            self._compact()

    def _append(self, entry: dict[str, object]) -> None:
        if self._handle is None:
            raise RuntimeError("outbox is closed")
        if self._dirty:
            self._compact()
            return
        try:
            self._handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self._handle.flush()
            os.fsync(self._handle.fileno())
        except OSError as exc:
            # The report stays in memory and is still sent; the file is rewritten at the next change.
            log.error("could not save a report to %s: %s", self.path, describe(exc))
            self._dirty = True
            return
        self._lines += 1

    def _compact(self) -> None:
        """Rewrite the file with the pending reports only (atomically), then append to it."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            with tmp.open("w", encoding="utf-8") as handle:
                for key, payload in sorted(self._pending.items()):
                    handle.write(json.dumps({"k": key, "m": payload.decode()}, ensure_ascii=False) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
            fsync_dir(self.path.parent)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            log.error("could not save the reports to %s: %s", self.path, describe(exc))
            self._dirty = True
            if self._handle is None:
                self._handle = self.path.open("a", encoding="utf-8")
            return
        if self._dirty:
            log.warning("saved the pending reports to %s again (%d)", self.path, len(self._pending))
        old, self._handle, self._dirty = self._handle, self.path.open("a", encoding="utf-8"), False
        self._lines = len(self._pending)
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
                if "ack" in entry:
                    self._pending.pop(int(entry["ack"]), None)
                    continue
                key, message = int(entry["k"]), entry["m"]
                if not isinstance(message, str):
                    raise TypeError("report is not a string")
            except (ValueError, KeyError, TypeError) as exc:
                # A power cut during an append leaves a torn last line: that report was never sent.
                log.warning("ignoring unreadable line %d of %s: %s", number, self.path, exc)
                continue
            self._pending[key] = message.encode()
            self._next = max(self._next, key + 1)
