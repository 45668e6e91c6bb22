"""Optional clip fetching for simulated agents: HTTP GET + sha256 check on a small thread pool.

Off by default (the benchmarks then measure MQTT + decision only). On, it adds what an agent does
before it can play a clip it does not hold yet: download it from the station and verify it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import urllib.request
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from bench.simulator.loop import ClientLoop

FETCH_TIMEOUT_S = 30.0


class ClipMismatch(RuntimeError):
    """The server sent other bytes than the command promised."""


def fetch_clip(url: str, sha256: str, size: int, dest: Path) -> None:
    """Download url to dest (atomically) if its bytes have the expected size and sha256."""
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_S) as response:
        data = response.read(size + 1)
    if len(data) != size or hashlib.sha256(data).hexdigest() != sha256:
        raise ClipMismatch(f"got {len(data)} bytes that do not match the command's sha256")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, dest)


class Fetcher:
    """Run fetches on threads and hand their completions back to the loop's thread."""

    def __init__(self, loop: ClientLoop, threads: int = 4) -> None:
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="fetch")
        self._done: deque[Callable[[], None]] = deque()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        loop.add_reader(self._wake_r, self._drain)

    def submit(
        self, url: str, sha256: str, size: int, dest: Path, done: Callable[[str | None], None]
    ) -> None:
        """Fetch in the background; done(error or None) later runs on the loop's thread."""
        future = self._pool.submit(fetch_clip, url, sha256, size, dest)

        def complete(finished: Future[None]) -> None:
            error = finished.exception()
            self._done.append(lambda: done(None if error is None else f"{type(error).__name__}: {error}"))
            with contextlib.suppress(BlockingIOError):  # full: the loop is already due to wake
                self._wake_w.send(b"\0")

        future.add_done_callback(complete)

    def _drain(self) -> None:
        with contextlib.suppress(BlockingIOError):
            self._wake_r.recv(4096)
        while self._done:
            self._done.popleft()()

    def close(self) -> None:
        """Stop the threads (pending fetches are dropped) and close the wake-up sockets."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._wake_r.close()
        self._wake_w.close()
