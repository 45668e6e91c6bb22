"""Exactly one scheduler among several station workers: leader election and the elected scheduler.

APScheduler 3 must not share a job store between two running schedulers, so the workers of one
installation elect a leader and only the leader runs `ProgrammeScheduler`. PostgreSQL: a session-level
`pg_try_advisory_lock` on a dedicated connection, held for the leader's lifetime; the server frees it
when that session ends (process killed, machine gone, connection cut). SQLite: an exclusive `flock` on a
file beside the database, which the kernel frees when the process dies. Followers hand their planning
requests (add or remove a slot) to the leader: NOTIFY on PostgreSQL, a spool directory on SQLite.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import math
import os
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import make_url

from broadcast import programme
from broadcast.config import Settings
from broadcast.programme import last_call
from broadcast.scheduler import slots
from broadcast.scheduler.planner import parse_quiet_hours
from broadcast.scheduler.service import ProgrammeScheduler
from broadcast.scheduler.slots import SlotRule
from broadcast.storage.db import Database

log = logging.getLogger(__name__)

SCHEDULER_LOCK = "broadcast.scheduler"
CHANNEL = "broadcast_scheduler"


class LeadershipLost(RuntimeError):
    """The leader's lock (its database session) is gone."""


def lock_key(name: str | int) -> int:
    """Return the signed 64-bit advisory lock key of a name (an int is used as it is)."""
    if isinstance(name, int):
        return name
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class _Lock(Protocol):
    def acquire(self) -> bool: ...
    def wait(self, timeout: float, stop: threading.Event) -> list[str]: ...
    def release(self) -> None: ...
    def send(self, message: str) -> None: ...


class _PostgresLock:
    """A session advisory lock; LISTEN on the same connection carries followers' requests."""

    def __init__(self, url: str, key: int) -> None:
        self._conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._key = key
        self._conn: Any = None

    def _connect(self) -> Any:
        import psycopg  # only PostgreSQL installations need the driver

        # Client keepalives / user timeout: a leader cut off from the server notices within seconds.
        return psycopg.connect(
            self._conninfo,
            autocommit=True,
            connect_timeout=5,
            application_name="broadcast-scheduler-leader",
            keepalives=1,
            keepalives_idle=5,
            keepalives_interval=2,
            keepalives_count=3,
            tcp_user_timeout=10000,
        )

    def acquire(self) -> bool:
        conn = self._connect()
        try:
            # Server keepalives: the server ends a vanished leader's session (and frees the lock) in ~11 s
            # instead of the kernel default of two hours.
            conn.execute("SET tcp_keepalives_idle = 5")
            conn.execute("SET tcp_keepalives_interval = 2")
            conn.execute("SET tcp_keepalives_count = 3")
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()
            if not (row and row[0]):
                conn.close()
                return False
            # Listen before the leader restores its slots: a request sent after that read is not lost.
            conn.execute(f"LISTEN {CHANNEL}")
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return True

    def wait(self, timeout: float, stop: threading.Event) -> list[str]:
        import psycopg

        deadline = time.monotonic() + timeout
        try:
            self._conn.execute("SELECT 1")  # the session, and so the lock, is still there
            # Short slices, so that stopping a worker does not wait a whole check interval.
            while not stop.is_set() and (remaining := deadline - time.monotonic()) > 0:
                payloads = [n.payload for n in self._conn.notifies(timeout=min(0.1, remaining), stop_after=1)]
                if payloads:
                    return payloads
        except psycopg.Error as exc:
            raise LeadershipLost(str(exc)) from exc
        return []

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()  # ending the session releases the advisory lock
            self._conn = None

    def send(self, message: str) -> None:
        with self._connect() as conn:
            conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, message))


class _FileLock:
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
        name = f"{time.time_ns():020d}-{secrets.token_hex(4)}"
        tmp = self._inbox / f"{name}.tmp"
        tmp.write_text(message)
        tmp.rename(self._inbox / f"{name}.json")  # the leader never reads half a request


class _SoleLock:
    """An in-memory SQLite database lives in one process: that process always leads."""

    def acquire(self) -> bool:
        return True

    def wait(self, timeout: float, stop: threading.Event) -> list[str]:
        stop.wait(timeout)
        return []

    def release(self) -> None:
        pass

    def send(self, message: str) -> None:
        raise RuntimeError("an in-memory database has no other worker to lead")


def _lock_for(database_url: str, key: int) -> _Lock:
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return _PostgresLock(database_url, key)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            return _SoleLock()
        database = Path(url.database).resolve()
        return _FileLock(database.with_name(f"{database.name}.leader-{key & 0xFFFFFFFF:08x}"))
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
        self._lock = _lock_for(database_url, lock_key(key))
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


def request_message(op: str, slot_id: int, rule: SlotRule | None = None) -> str:
    """Return a follower's planning request ("add" with a rule, or "remove") as the leader reads it."""
    body: dict[str, Any] = {"op": op, "slot": slot_id}
    if rule is not None:
        body["start_at"] = rule.start_at.isoformat() if rule.start_at is not None else None
        body["daily_at"] = rule.daily_at
        body["days"] = sorted(rule.days)
    return json.dumps(body)


def _rule_of(body: dict[str, Any]) -> SlotRule:
    if body.get("start_at"):
        return SlotRule(start_at=datetime.fromisoformat(body["start_at"]))
    return SlotRule(daily_at=body["daily_at"], days=frozenset(int(d) for d in body["days"]))


def predicted_push(rule: SlotRule, lead_s: float, tz: str, now: datetime) -> datetime | None:
    """Return when the leader will push a slot's next occurrence (what a follower tells the user)."""
    if rule.start_at is not None:
        plan = slots.one_off_push(rule.start_at, lead_s, now)
        return plan[0] if plan is not None else None
    lead = math.ceil(lead_s)  # cron has whole seconds: the leader's recurring push rounds the lead up
    start = slots.next_start(rule, now + timedelta(seconds=lead), tz)
    return slots.push_time(start, lead) if start is not None else None


class ElectedScheduler:
    """The SlotPlanner of one worker: plans directly while it leads, hands requests over otherwise.

    A fresh ProgrammeScheduler is made for each term (a shut-down APScheduler cannot start again).
    `on_elected(scheduler)` runs right after it starts: the leader-only set-up (restore slots,
    periodic jobs).
    """

    def __init__(
        self,
        make_scheduler: Callable[[], ProgrammeScheduler],
        database_url: str,
        *,
        on_elected: Callable[[ProgrammeScheduler], object] | None = None,
        key: str | int = SCHEDULER_LOCK,
        retry_s: float = 2.0,
        check_s: float = 1.0,
    ) -> None:
        self._make = make_scheduler
        self._scheduler = make_scheduler()
        self._terms = 0
        self._leading = False  # set only once the term's scheduler runs and its set-up is done
        self._wait_on_stop = False
        self._on_elected = on_elected
        self._state = threading.RLock()
        self.election = LeaderElection(
            database_url,
            key,
            self._elected,
            self._lost,
            on_message=self._apply,
            retry_s=retry_s,
            check_s=check_s,
        )

    @property
    def is_leader(self) -> bool:
        return self._leading

    @property
    def running(self) -> bool:
        """Return True if scheduling is covered: this worker leads, or is ready to take over."""
        with self._state:
            return self._scheduler.running if self._leading else self.election.alive

    def start(self) -> None:
        """Join the election; a sole worker is leader, with its scheduler running, when this returns."""
        self.election.start()

    def shutdown(self, wait: bool = True) -> None:
        """Leave the election; a leader stops its scheduler first, then frees the lock."""
        self._wait_on_stop = wait
        self.election.stop()

    def add_slot(self, slot_id: int, rule: SlotRule) -> datetime | None:
        """Schedule a slot's pushes (via the leader if another worker leads); return the next push."""
        with self._state:
            if self._leading:
                return self._scheduler.add_slot(slot_id, rule)
            scheduler = self._scheduler
        self._hand_over(request_message("add", slot_id, rule))
        return predicted_push(rule, scheduler.lead_s, scheduler.tz, datetime.now(UTC))

    def remove_slot(self, slot_id: int) -> None:
        """Cancel a slot's pushes (via the leader if another worker leads)."""
        with self._state:
            if self._leading:
                self._scheduler.remove_slot(slot_id)
                return
        self._hand_over(request_message("remove", slot_id))

    def next_push(self, slot_id: int) -> datetime | None:
        """Return the slot's next push as this worker's scheduler knows it (None on a follower)."""
        with self._state:
            return self._scheduler.next_push(slot_id) if self._leading else None

    def job_ids(self) -> list[str]:
        """Return the leader's stored job ids (empty on a follower)."""
        with self._state:
            return self._scheduler.job_ids() if self._leading else []

    def _hand_over(self, message: str) -> None:
        try:
            self.election.send(message)
        except Exception:
            # The slot row is committed: the next leader's restore plans it, and the programme refresh
            # publishes it meanwhile.
            log.exception("could not hand %s to the scheduler leader", message)

    def _elected(self) -> None:
        with self._state:
            if self._terms:
                self._scheduler = self._make()
            self._terms += 1
            self._scheduler.start()
            if self._on_elected is not None:
                self._on_elected(self._scheduler)
            self._leading = True

    def _lost(self) -> None:
        with self._state:
            self._leading = False
            self._scheduler.shutdown(wait=self._wait_on_stop)

    def _apply(self, message: str) -> None:
        body = json.loads(message)
        with self._state:
            if not self._leading:
                return  # the next leader's restore reads the slots table instead
            if body["op"] == "remove":
                self._scheduler.remove_slot(int(body["slot"]))
            else:
                self._scheduler.add_slot(int(body["slot"]), _rule_of(body))


def elected_scheduler(settings: Settings, db: Database) -> ElectedScheduler:
    """Return the station's scheduler: only the elected worker runs jobs, restoring slots when elected."""

    def lead(scheduler: ProgrammeScheduler) -> None:
        scheduler.ensure_refresh_job(settings.programme_refresh_s)
        with db.session() as session:
            programme.restore_slots(session, scheduler)

    quiet = parse_quiet_hours(settings.quiet_hours)

    def due(slot_id: int, start: datetime) -> None:
        """Record what of this occurrence is not sent (its last call ran, or was missed in an outage)."""
        last_call.record(db, slot_id, start, quiet, settings.timezone)

    return ElectedScheduler(
        lambda: ProgrammeScheduler(
            settings.database, settings.timezone, settings.push_lead_s, on_missed=due, on_pushed=due
        ),
        settings.database,
        on_elected=lead,
    )
