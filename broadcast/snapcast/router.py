"""Keep every connected snapclient on the stream the station wants it on.

The domain answers `lookup(host_id)` with the live stream a device should play ("live-1", ...) or None
(then "idle": silence). The router applies that when a client connects, when snapserver (re)starts, and
whenever the domain calls `refresh()` (a session started or ended, or its devices changed). Each client
gets a group of its own: a Snapcast group plays one stream, and devices of different zones must not move
together.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from broadcast.snapcast.config import IDLE_STREAM
from broadcast.snapcast.control import (
    CLIENT_CONNECTED,
    CLIENT_DISCONNECTED,
    CONNECTED,
    SERVER_UPDATED,
    ControlError,
    SnapClient,
    SnapControl,
)

__all__ = ["LiveRouter", "Lookup", "moves"]

log = logging.getLogger(__name__)

Lookup = Callable[[str], str | None]


def moves(clients: list[SnapClient], lookup: Lookup) -> dict[str, str]:
    """Return {host_id: stream} for each client not yet (alone) on the stream it should play.

    A connected client should play lookup's stream, alone in its group; a disconnected one should wait
    on idle, so that when it comes back it does not play a session that is no longer its own before the
    router has moved it.
    """
    wanted = {}
    for client in clients:
        if not client.connected:
            if client.stream_id != IDLE_STREAM:
                wanted[client.host_id] = IDLE_STREAM
            continue
        stream = lookup(client.host_id) or IDLE_STREAM
        if client.stream_id != stream or client.group_size > 1:
            wanted[client.host_id] = stream
    return wanted


class LiveRouter:
    """Route snapclients to streams by `lookup`; `control.on_event` should be this router's `on_event`."""

    def __init__(self, control: SnapControl, lookup: Lookup) -> None:
        self.control = control
        self.lookup = lookup
        self._lock = threading.Lock()  # one routing pass at a time (events and the domain both call)
        self.routed = 0  # clients moved since start
        self.last_pass_s = 0.0  # how long the last routing pass took (status + moves)

    def refresh(self) -> int:
        """Put every connected client on its stream now; return how many were moved."""
        with self._lock:
            started = time.monotonic()
            try:
                clients = self.control.status()
            except ControlError as error:
                if not self.control.closing:  # the station is stopping: nothing to route
                    log.warning("cannot route live clients: %s", error)
                return 0
            moved = 0
            for host_id, stream in moves(clients, self._safe_lookup).items():
                try:
                    clients = self.control.set_stream(host_id, stream, clients)
                    moved += 1
                except ControlError as error:
                    log.warning("could not put %s on %s: %s", host_id, stream, error)
                    if not self.control.connected:
                        break
            self.routed += moved
            self.last_pass_s = time.monotonic() - started
            if moved:
                log.info("live: %d client(s) routed in %.0f ms", moved, self.last_pass_s * 1000)
            return moved

    def on_event(self, method: str, params: dict[str, Any]) -> None:
        """Route after a client came or went, or the control connection came back."""
        if method in (CLIENT_CONNECTED, CLIENT_DISCONNECTED, SERVER_UPDATED, CONNECTED):
            self.refresh()

    def _safe_lookup(self, host_id: str) -> str | None:
        try:
            return self.lookup(host_id)
        except Exception:
            log.exception("live stream lookup failed for %s; it stays silent", host_id)
            return None
