"""Is a station running on this data directory? A restore must never pull the floor from under one.

Three signs, any one is enough: a process holds `DATA_DIR/.station.lock` (flock; `serve` takes it), the
managed Mosquitto of the data dir is alive (its pid file), or another process has the SQLite database
open (seen in /proc, Linux).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from broadcast.config import Settings
from broadcast.mqtt.tether import pid_running
from broadcast.storage.db import sqlite_path

LOCK_NAME = ".station.lock"


@contextmanager
def station_lock(data_dir: Path) -> Iterator[None]:
    """Hold the station lock of `data_dir` while the block runs (`serve` wraps its whole life in it).

    Shared: several station workers on one data dir may all hold it; a restore asks for it exclusively
    and so sees any of them.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / LOCK_NAME).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def lock_held(data_dir: Path) -> bool:
    """Return True if another process holds the station lock of `data_dir`."""
    path = data_dir / LOCK_NAME
    if not path.exists():
        return False
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def processes_with_open(path: Path) -> list[int]:
    """Return the pids (other than ours) with `path` (or its -wal/-shm) open; those we may not read are
    not seen."""
    wanted = {str(path.resolve()) + suffix for suffix in ("", "-wal", "-shm")}
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        pid = int(proc.name)
        if pid == os.getpid():
            continue
        try:
            links = {os.readlink(fd) for fd in (proc / "fd").iterdir()}
        except OSError:
            continue
        if links & wanted:
            found.append(pid)
    return found


def station_running(settings: Settings) -> str | None:
    """Return why a station seems to run on settings.data_dir, or None."""
    if lock_held(settings.data_dir):
        return f"a station holds {settings.data_dir / LOCK_NAME}"
    pid = pid_running(settings.broker_dir / "mosquitto.pid", "mosquitto")
    if pid is not None:
        return f"the station's broker runs (pid {pid})"
    db = sqlite_path(settings.database)
    if db is not None and db.exists():
        pids = processes_with_open(db)
        if pids:
            return f"process {', '.join(map(str, pids))} has {db} open"
    return None
