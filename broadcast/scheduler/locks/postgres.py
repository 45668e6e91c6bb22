"""The PostgreSQL leader lock: a session advisory lock on a dedicated connection, held for the term.

The server frees the lock when that session ends (process killed, machine gone, connection cut);
keepalives on both sides make that seconds, not hours. Followers' requests arrive as NOTIFY on the
leader's connection.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from sqlalchemy import make_url

from broadcast.scheduler.locks import LeadershipLost

CHANNEL = "broadcast_scheduler"


class PostgresLock:
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
