"""One thread driving thousands of paho clients through one epoll selector (paho's external-loop API).

A thread per client does not scale past a few hundred agents; paho's loop_read / loop_write / loop_misc
with socket callbacks lets one selector serve them all. Besides sockets the loop runs coarse timers
(monotonic) and precise wall-clock deadlines, which it meets like the real playout: sleep until just
before, then spin.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import selectors
import socket
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

_SPIN_S = 0.002  # as edge_agent.playout: below this a selector timeout overshoots more than spinning costs
_MAX_WAIT_S = 0.5
_MISC_PERIOD_S = 1.0  # every client's keepalive bookkeeping runs about once a second

Callback = Callable[[], None]
Deadline = Callable[[float], None]  # called with the instant the deadline was met


class ClientLoop:
    """Selector, write flushing, keepalive sweeps and timers for many clients in one thread."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._clients: list[mqtt.Client] = []
        self._misc_next = 0
        self._misc_at = time.monotonic()
        self._dirty: set[mqtt.Client] = set()
        self._writing: set[int] = set()  # fds currently selected for write as well as read
        self._timers: list[tuple[float, int, Callback]] = []
        self._deadlines: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self.after_read: Callback = lambda: None  # runs after each socket read (hands the inbox on)

    # --- clients ---------------------------------------------------------------------------------------

    def attach(self, client: mqtt.Client) -> None:
        """Let this loop drive client (call before connecting it)."""
        client.on_socket_open = self._on_open
        client.on_socket_close = self._on_close
        client.on_socket_register_write = self._on_register_write
        client.on_socket_unregister_write = self._on_unregister_write
        self._clients.append(client)

    def detach(self, *clients: mqtt.Client) -> None:
        """Stop driving clients (after they are closed)."""
        gone = set(clients)
        self._clients = [client for client in self._clients if client not in gone]
        self._dirty -= gone

    def _on_open(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self._selector.register(sock, selectors.EVENT_READ, client)

    def _on_close(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        fd = sock.fileno()
        self._writing.discard(fd)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(sock)

    def _on_register_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        # Written at the end of this round rather than on the next select: one syscall round-trip less.
        self._dirty.add(client)

    def _on_unregister_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        fd = sock.fileno()
        if fd in self._writing:
            self._writing.discard(fd)
            self._selector.modify(sock, selectors.EVENT_READ, client)

    def flush(self) -> None:
        """Write what clients queued; select for writability only where the socket buffer is full."""
        while self._dirty:
            dirty, self._dirty = self._dirty, set()
            for client in dirty:
                client.loop_write()
                sock = client.socket()
                if sock is None or not client.want_write() or sock.fileno() in self._writing:
                    continue
                self._writing.add(sock.fileno())
                self._selector.modify(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, client)
                self._dirty.discard(client)

    # --- other readers and timers ---------------------------------------------------------------------

    def add_reader(self, fileobj: socket.socket | Any, callback: Callback) -> None:
        """Call callback whenever fileobj (a socket, pipe or Connection) is readable."""
        self._selector.register(fileobj, selectors.EVENT_READ, callback)

    def call_later(self, delay: float, callback: Callback) -> None:
        """Run callback after delay seconds (coarse: within a few milliseconds)."""
        heapq.heappush(self._timers, (time.monotonic() + delay, next(self._order), callback))

    def call_at_wall(self, when: float, callback: Deadline) -> None:
        """Run callback(instant) at wall-clock time `when` (unix seconds), met within microseconds."""
        heapq.heappush(self._deadlines, (when, next(self._order), callback))

    # --- one round ------------------------------------------------------------------------------------

    def run_once(self) -> None:
        """Wait for sockets or the next timer, handle what is ready, then meet due deadlines."""
        self._select(self._timeout())
        self.flush()
        self._run_timers()
        self._meet_deadlines()
        self._sweep_misc()
        self.flush()

    def _timeout(self) -> float:
        wait = _MAX_WAIT_S
        if self._timers:
            wait = min(wait, self._timers[0][0] - time.monotonic())
        if self._deadlines:
            wait = min(wait, self._deadlines[0][0] - _SPIN_S - time.time())
        if self._dirty:
            wait = 0.0
        return max(0.0, wait)

    def _select(self, timeout: float) -> None:
        for key, events in self._selector.select(timeout):
            data = key.data
            if not isinstance(data, mqtt.Client):
                data()
                continue
            if events & selectors.EVENT_WRITE:
                data.loop_write()
            if events & selectors.EVENT_READ:
                data.loop_read()
                # Ack at once (as paho's own thread would), then let the agent decide.
                if data in self._dirty:
                    self._dirty.discard(data)
                    self._write_one(data)
                self.after_read()

    def _write_one(self, client: mqtt.Client) -> None:
        client.loop_write()
        sock = client.socket()
        if sock is not None and client.want_write() and sock.fileno() not in self._writing:
            self._writing.add(sock.fileno())
            self._selector.modify(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, client)

    def _run_timers(self) -> None:
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            _, _, callback = heapq.heappop(self._timers)
            callback()

    def _meet_deadlines(self) -> None:
        if not self._deadlines or self._deadlines[0][0] - time.time() > _SPIN_S:
            return
        when = self._deadlines[0][0]
        while time.time() < when:
            pass  # the last ~2 ms: spin, as the real player does
        # Take every due deadline's instant first, then run the callbacks: real agents fire apart, so one
        # process's serial bookkeeping (10-30 µs per agent) must not show up as their skew.
        due: list[tuple[Deadline, float]] = []
        while self._deadlines and self._deadlines[0][0] <= time.time():
            due.append((heapq.heappop(self._deadlines)[2], time.time()))
        for callback, fired_at in due:
            callback(fired_at)

    def _sweep_misc(self) -> None:
        """Run loop_misc (keepalive pings, lost-link detection) over a slice of the clients."""
        now = time.monotonic()
        if not self._clients:
            return
        share = int(len(self._clients) * (now - self._misc_at) / _MISC_PERIOD_S)
        if share < 1:
            return
        self._misc_at = now
        for _ in range(min(share, len(self._clients))):
            self._misc_next %= len(self._clients)
            self._clients[self._misc_next].loop_misc()
            self._misc_next += 1

    def close(self) -> None:
        """Close the selector (clients must be disconnected first)."""
        self._selector.close()
