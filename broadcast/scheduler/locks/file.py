"""The SQLite leader lock: an exclusive flock on a file beside the database, freed when the process dies.

Followers' requests arrive as files in a spool directory beside the lock file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import threading
import time
from pathlib import Path

from broadcast.storage.files import write_atomic


class FileLock:
    """An exclusive flock beside the SQLite file; requests arrive as files in a spool directory."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._inbox = path.with_name(path.name + "-inbox")
        self._fd: int | None = None

    def acquire(self) -> bool:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._inbox.mkdir(exist_ok=True)
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())  # who leads, for a person looking
        self._fd = fd
        return True

    def wait(self, timeout: float, stop: threading.Event) -> list[str]:
        stop.wait(timeout)
        messages = []
        for path in sorted(self._inbox.glob("*.json")):
            with contextlib.suppress(OSError):
                messages.append(path.read_text())
                path.unlink()
        return messages

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None

    def send(self, message: str) -> None:
        self._inbox.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{secrets.token_hex(4)}.json"
        # The leader never reads half a request (the temporary file does not end in .json). No fsync: a
        # power cut stops the leader too, and the next one's restore reads the slots table.
        write_atomic(self._inbox / name, message, durable=False)
