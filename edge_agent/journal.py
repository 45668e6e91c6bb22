"""An append-only JSON-lines file that survives power cuts and a full disk (the agent's small stores)."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from edge_agent._files import atomic_file, close_quietly, describe

log = logging.getLogger(__name__)

Entry = dict[str, Any]


class Journal:
    """Appends are fsynced one line at a time; `rewrite` swaps in the owner's current state atomically.

    When the disk refuses a write, the owner keeps its state in memory and the next append rewrites the
    whole file instead. Not thread-safe: the owner holds its own lock around every call.
    """

    def __init__(self, path: Path, what: str, snapshot: Callable[[], Iterable[Entry]]) -> None:
        self.path = path
        self.what = what  # "the received command ids", "the reports": for the log
        self.lines = 0  # lines in the file now (owners compact when most are obsolete)
        self._snapshot = snapshot
        self._handle: IO[str] | None = None
        self._dirty = False  # an append failed: the next append rewrites the whole file
        path.parent.mkdir(parents=True, exist_ok=True)

    def entries(self) -> Iterator[tuple[int, Entry]]:
        """Yield (line number, entry) for each readable line; a torn or foreign line is logged and skipped."""
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return
        for number, line in enumerate(text.splitlines(), start=1):
            try:
                entry = json.loads(line)
            except ValueError as exc:
                # A power cut during an append leaves a torn last line; what it held was never acted on.
                log.warning("ignoring unreadable line %d of %s: %s", number, self.path, exc)
                continue
            if isinstance(entry, dict):
                yield number, entry
            else:
                log.warning("ignoring line %d of %s: not an object", number, self.path)

    def append(self, entry: Entry) -> None:
        """Add one line durably; on a full disk log it and remember to rewrite everything next time."""
        if self._handle is None:
            raise RuntimeError(f"{self.path.name} is closed")
        if self._dirty:
            self.rewrite()
            return
        try:
            self._handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self._handle.flush()
            os.fsync(self._handle.fileno())
        except OSError as exc:
            log.error("could not save %s to %s: %s", self.what, self.path, describe(exc))
            self._dirty = True
            return
        self.lines += 1

    def rewrite(self) -> None:
        """Write the owner's snapshot to a new file and swap it in; if the disk refuses, keep the old one."""
        written = 0
        try:
            with atomic_file(self.path) as handle:
                for entry in self._snapshot():
                    handle.write((json.dumps(entry, ensure_ascii=False) + "\n").encode())
                    written += 1
        except OSError as exc:
            log.error("could not save %s to %s: %s", self.what, self.path, describe(exc))
            self._dirty = True
            if self._handle is None:
                self._handle = self.path.open("a", encoding="utf-8")
            return
        if self._dirty:
            log.warning("saved %s to %s again (%d)", self.what, self.path, written)
        old, self._handle, self._dirty = self._handle, self.path.open("a", encoding="utf-8"), False
        self.lines = written
        if old is not None:
            close_quietly(old)  # its unwritten buffer (a failed append) goes to the replaced file only

    def close(self) -> None:
        """Close the file; later appends fail."""
        if self._handle is not None:
            close_quietly(self._handle)
            self._handle = None
