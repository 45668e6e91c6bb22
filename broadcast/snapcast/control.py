"""snapserver's JSON-RPC control port: requests, and notifications passed to a callback.

One TCP connection to 127.0.0.1:control_port carries newline-delimited JSON-RPC 2.0 both ways: our
requests and their responses, and snapserver's notifications. A reader thread owns the socket's read
side: it hands each response to the request waiting for it and queues each notification for a worker
thread that calls the callback, so a callback may itself make requests. When snapserver goes away the
reader reconnects (backing off to 1 s) and reports CONNECTED again: the state it knew may be stale.

Snapcast 0.26, measured here: a client seen for the first time arrives as Server.OnUpdate (not as
Client.OnConnect); one it knows arrives as Client.OnConnect and rejoins the group (and the stream) it
had, which snapserver keeps in its data dir. A client removed from a group by Group.SetClients gets a
new group of its own, playing the stream of the group it left.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from broadcast.snapcast.config import LOOPBACK

__all__ = [
    "CLIENT_CONNECTED",
    "CLIENT_DISCONNECTED",
    "CONNECTED",
    "SERVER_UPDATED",
    "ControlError",
    "SnapClient",
    "SnapControl",
]

log = logging.getLogger(__name__)

CONNECTED = "Control.OnConnect"  # ours, not snapserver's: the control connection is (re)established
CLIENT_CONNECTED = "Client.OnConnect"
CLIENT_DISCONNECTED = "Client.OnDisconnect"
SERVER_UPDATED = "Server.OnUpdate"
_WATCHED = frozenset({CLIENT_CONNECTED, CLIENT_DISCONNECTED, SERVER_UPDATED})

EventCallback = Callable[[str, dict[str, Any]], None]


class ControlError(RuntimeError):
    """snapserver refused a request, or could not be asked."""


@dataclass(frozen=True)
class SnapClient:
    """One snapclient as snapserver knows it (it remembers disconnected ones too)."""

    host_id: str  # the client id: snapclient's --hostID ("#N" appended for an instance N > 1)
    connected: bool
    group_id: str
    stream_id: str
    group_size: int  # clients in its group, this one included
    ip: str = ""


def clients_of(server: dict[str, Any]) -> list[SnapClient]:
    """Return the clients in a Server.GetStatus `server` object."""
    found = []
    for group in server.get("groups", []):
        members = group.get("clients", [])
        for client in members:
            found.append(
                SnapClient(
                    host_id=str(client["id"]),
                    connected=bool(client.get("connected")),
                    group_id=str(group["id"]),
                    stream_id=str(group.get("stream_id", "")),
                    group_size=len(members),
                    ip=str(client.get("host", {}).get("ip", "")),
                )
            )
    return found


class _Pending:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.reply: dict[str, Any] | None = None


class SnapControl:
    """A JSON-RPC client of snapserver's control port, reconnecting, with a notification callback."""

    def __init__(
        self, port: int, on_event: EventCallback | None = None, host: str = LOOPBACK, timeout: float = 5.0
    ) -> None:
        self.port = port
        self.host = host
        self.timeout = timeout
        self.on_event = on_event
        self._ids = itertools.count(1)
        self._sock: socket.socket | None = None
        self._send_lock = threading.Lock()
        self._pending: dict[int, _Pending] = {}
        self._pending_lock = threading.Lock()
        self._connected = threading.Event()
        self._closing = threading.Event()
        self._events: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self.reconnects = 0

    def start(self, timeout: float | None = None) -> None:
        """Start the reader and callback threads; wait (up to `timeout`, if given) for a connection."""
        self._closing.clear()
        self._events = queue.Queue()
        self._threads = [
            threading.Thread(target=self._read_loop, name="snapcast-control", daemon=True),
            threading.Thread(target=self._event_loop, name="snapcast-events", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        if timeout is not None and not self._connected.wait(timeout):
            raise ControlError(f"no snapserver control port at {self.host}:{self.port} after {timeout} s")

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def closing(self) -> bool:
        return self._closing.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def close(self) -> None:
        """Stop the threads and close the connection."""
        self._closing.set()
        self._drop_connection()
        self._events.put(None)
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=5)

    def call(self, method: str, params: dict[str, Any] | None = None, timeout: float | None = None) -> Any:
        """Send one request and return its result; raise ControlError on an error or no answer."""
        sock = self._sock
        if sock is None or not self._connected.is_set():
            raise ControlError(f"not connected to snapserver's control port ({method})")
        request_id = next(self._ids)
        message: dict[str, Any] = {"id": request_id, "jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        pending = _Pending()
        with self._pending_lock:
            self._pending[request_id] = pending
        try:
            with self._send_lock:
                sock.sendall(json.dumps(message).encode() + b"\n")
            if not pending.done.wait(self.timeout if timeout is None else timeout):
                raise ControlError(f"snapserver did not answer {method} in time")
        except OSError as error:
            raise ControlError(f"{method}: {error}") from error
        finally:
            with self._pending_lock:
                self._pending.pop(request_id, None)
        reply = pending.reply
        if reply is None:
            raise ControlError(f"connection to snapserver lost during {method}")
        if "error" in reply:
            raise ControlError(f"{method} refused: {reply['error']}")
        return reply.get("result")

    def status(self) -> list[SnapClient]:
        """Return every client snapserver knows (connected or not), with its group and stream."""
        return clients_of(self.call("Server.GetStatus")["server"])

    def set_stream(
        self, host_id: str, stream: str, known: list[SnapClient] | None = None
    ) -> list[SnapClient]:
        """Put client `host_id` on `stream`, alone in its group first so no other client moves with it.

        `known` is the status as last read (by default it is read now); the status after the move is
        returned, so a caller moving many clients reads it once, not once per client.
        """
        clients = self.status() if known is None else known
        client = next((c for c in clients if c.host_id == host_id), None)
        if client is None:
            raise ControlError(f"snapserver knows no client {host_id!r}")
        if client.group_size > 1:
            others = [c.host_id for c in clients if c.group_id == client.group_id and c.host_id != host_id]
            clients = clients_of(
                self.call("Group.SetClients", {"id": client.group_id, "clients": others})["server"]
            )
            client = next((c for c in clients if c.host_id == host_id), None)
            if client is None:
                raise ControlError(f"client {host_id!r} vanished while leaving its group")
        if client.stream_id != stream:
            self.call("Group.SetStream", {"id": client.group_id, "stream_id": stream})
            clients = [replace(c, stream_id=stream) if c.group_id == client.group_id else c for c in clients]
        return clients

    def _connect(self) -> socket.socket | None:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError:
            return None
        sock.settimeout(None)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        return sock

    def _drop_connection(self) -> None:
        self._connected.clear()
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        with self._pending_lock:  # nobody will answer these now
            for pending in self._pending.values():
                pending.done.set()

    def _read_loop(self) -> None:
        delay = 0.05
        first = True
        while not self._closing.is_set():
            sock = self._connect()
            if sock is None:
                self._closing.wait(delay)
                delay = min(1.0, delay * 2)
                continue
            delay = 0.05
            self._sock = sock
            if self._closing.is_set():  # close() ran while we connected: it may not have seen this socket
                self._drop_connection()
                break
            self._connected.set()
            if not first:
                self.reconnects += 1
            first = False
            self._events.put((CONNECTED, {}))
            try:
                with sock.makefile("rb") as lines:
                    for line in lines:
                        self._dispatch(line)
            except (OSError, ValueError):
                pass
            if not self._closing.is_set():
                log.warning("snapserver control connection lost; reconnecting")
            self._drop_connection()

    def _dispatch(self, line: bytes) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            log.warning("snapserver sent a line that is not JSON: %.200r", line)
            return
        for item in message if isinstance(message, list) else [message]:
            if not isinstance(item, dict):
                continue
            if "id" in item and ("result" in item or "error" in item):
                with self._pending_lock:
                    pending = self._pending.get(item["id"])
                if pending is not None:
                    pending.reply = item
                    pending.done.set()
            elif item.get("method") in _WATCHED:
                self._events.put((str(item["method"]), item.get("params") or {}))

    def _event_loop(self) -> None:
        while (first := self._events.get()) is not None:
            for method, params in self._coalesce(first):
                if self.on_event is None or self._closing.is_set():
                    continue
                started = time.monotonic()
                try:
                    self.on_event(method, params)
                except Exception:
                    log.exception("snapcast event handler failed on %s", method)
                if time.monotonic() - started > 5:
                    log.warning(
                        "snapcast event handler took %.1f s on %s", time.monotonic() - started, method
                    )

    def _coalesce(self, first: tuple[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
        """Return `first` and whatever queued behind it, one event per kind (the last of each).

        A burst (every client reconnecting after a snapserver restart) then costs a few callbacks, not
        one per client: the router re-reads the whole state on each anyway.
        """
        batch = {first[0]: first[1]}
        while True:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                break
            if event is None:
                self._events.put(None)
                break
            batch.pop(event[0], None)  # keep the order of the last arrivals
            batch[event[0]] = event[1]
        return list(batch.items())
