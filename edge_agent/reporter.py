"""Send the outbox's reports whenever the broker is reachable, until it acknowledges each one."""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

from broadcast import protocol
from edge_agent._loop import Loop
from edge_agent.outbox import Outbox

log = logging.getLogger(__name__)

# paho resends an unacknowledged QoS1 message after a reconnect by itself; this only covers a message
# that got lost anyway (the station de-duplicates by device, command and outcome).
RESEND_S = 60.0
_TICK_S = 0.2


class ReportLink(Protocol):
    """What the reporter needs from the MQTT transport."""

    connected: threading.Event

    def publish_report(self, payload: bytes) -> int | None:
        """Publish QoS1 on the event topic; return the message id take_acks() will list, or None."""
        ...

    def take_acks(self) -> list[int]:
        """Return the message ids the broker acknowledged since the last call."""
        ...


class Reporter(Loop):
    """A thread that publishes each pending report once per connection and drops it on PUBACK.

    Reports kept before a restart go first; unacknowledged ones stay in the outbox for the next start.
    """

    def __init__(self, outbox: Outbox, link: ReportLink, resend_s: float = RESEND_S) -> None:
        self.outbox = outbox
        self.link = link
        self.resend_s = resend_s
        self._in_flight: dict[int, tuple[int, float]] = {}  # message id -> (outbox key, sent at)
        super().__init__("reporter")

    def report(self, message: protocol.AgentMessage) -> None:
        """Keep a report durably, then send it as soon as the link allows."""
        self.outbox.add(protocol.encode_agent_message(message))
        self._wake.set()

    def _run(self) -> None:
        was_connected = False
        while not self._stopping.is_set():
            self._wake.wait(_TICK_S)
            self._wake.clear()
            try:
                was_connected = self._step(was_connected)
            except Exception:
                # A full disk must not end the thread: the reports stay pending and are tried again.
                log.exception("sending reports failed")

    def _step(self, was_connected: bool) -> bool:
        """Process acknowledgements, then publish what is pending; return whether the link is up."""
        for mid in self.link.take_acks():
            entry = self._in_flight.pop(mid, None)
            if entry is not None:
                self.outbox.ack(entry[0])
        connected = self.link.connected.is_set()
        if not connected:
            return False
        if not was_connected:
            # A new connection: paho resends what it still holds, but a resend timer starts afresh.
            now = time.monotonic()
            self._in_flight = {mid: (key, now) for mid, (key, _) in self._in_flight.items()}
        now = time.monotonic()
        waiting = {key for key, sent in self._in_flight.values() if now - sent < self.resend_s}
        for key, payload in self.outbox.pending():
            if key in waiting:
                continue
            sent = self.link.publish_report(payload)
            if sent is None:
                break  # the link went down or paho's queue is full: try again on the next tick
            self._in_flight = {m: e for m, e in self._in_flight.items() if e[0] != key}
            self._in_flight[sent] = (key, now)
        return True
