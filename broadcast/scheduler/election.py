"""Exactly one scheduler among several station workers: the election of a leader.

APScheduler 3 must not share a job store between two running schedulers, so the workers of one
installation elect a leader and only the leader runs `ProgrammeScheduler`. The lock is the database's
(`broadcast.scheduler.locks`): a PostgreSQL advisory lock, or a flock beside the SQLite file; either is
freed when its holder dies. Followers hand their requests to the leader through the same lock.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import make_url

from broadcast.scheduler.locks import LeaderLock, LeadershipLost, lock_key
from broadcast.scheduler.locks.file import FileLock
from broadcast.scheduler.locks.postgres import PostgresLock
from broadcast.scheduler.locks.sole import SoleLock

log = logging.getLogger(__name__)


def lock_for(database_url: str, key: int) -> LeaderLock:
    """Return the leader lock of a database: advisory on PostgreSQL, a file beside an SQLite file."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return PostgresLock(database_url, key)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            return SoleLock()
        database = Path(url.database).resolve()
        return FileLock(database.with_name(f"{database.name}.leader-{key & 0xFFFFFFFF:08x}"))
    raise ValueError(f"leader election needs PostgreSQL or SQLite, not {url.get_backend_name()}")


class LeaderElection:
    """A thread that tries to take the lock every `retry_s` and, holding it, checks it every `check_s`."""

    def __init__(
        self,
        database_url: str,
        key: str | int,
        on_elected: Callable[[], None],
        on_lost: Callable[[], None],
        *,
        on_message: Callable[[str], None] | None = None,
        retry_s: float = 2.0,
        check_s: float = 1.0,
    ) -> None:
        self._lock = lock_for(database_url, lock_key(key))
        self._on_elected = on_elected
        self._on_lost = on_lost
        self._on_message = on_message
        self.retry_s = retry_s
        self.check_s = check_s
        self._leader = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def is_leader(self) -> bool:
        return self._leader

    @property
    def alive(self) -> bool:
        """Return True while the election runs (as leader or as a follower ready to take over)."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Make the first attempt now (errors raise), then keep trying or checking in a thread."""
        self._attempt(raise_errors=True)
        self._thread = threading.Thread(target=self._run, name="scheduler-leader-election", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the election; a leader runs on_lost and then gives the lock up."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.check_s + self.retry_s + 30)
        self._step_down("stopping")

    def send(self, message: str) -> None:
        """Deliver a message to whichever worker leads now (it is lost if none does)."""
        self._lock.send(message)

    def _attempt(self, raise_errors: bool = False) -> None:
        try:
            if not self._lock.acquire():
                return
        except Exception:
            if raise_errors:
                raise
            log.warning("leader election: cannot reach the database; retrying", exc_info=True)
            return
        log.info("elected scheduler leader (pid %s)", os.getpid())
        self._leader = True
        try:
            self._on_elected()
        except Exception:
            log.exception("the elected scheduler failed to start; giving the lead up")
            self._step_down("start failed")
            if raise_errors:
                raise

    def _step_down(self, why: str) -> None:
        if not self._leader:
            return
        self._leader = False
        try:
            self._on_lost()  # stop the scheduler before the lock goes: never two at once
        except Exception:
            log.exception("stopping the scheduler after losing the lead failed")
        finally:
            self._lock.release()
        log.log(
            logging.INFO if self._stop.is_set() else logging.WARNING, "no longer scheduler leader (%s)", why
        )

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._leader:
                if self._stop.wait(self.retry_s):
                    return
                self._attempt()
                continue
            try:
                messages = self._lock.wait(self.check_s, self._stop)
            except LeadershipLost as exc:
                self._step_down(f"lock lost: {exc}")
                continue
            for message in messages:
                if self._on_message is not None and self._leader:
                    try:
                        self._on_message(message)
                    except Exception:
                        log.exception("leader could not apply request %r", message)
