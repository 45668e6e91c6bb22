"""The commands thread: each received message goes to the planner, one at a time, in arrival order."""

from __future__ import annotations

import logging
import queue
import threading
import time

from broadcast import protocol
from edge_agent.planner import Planner
from edge_agent.programme import is_programme_topic
from edge_agent.transport import Inbound

log = logging.getLogger(__name__)


class Receiver:
    """Take messages off the transport's inbox and carry them out; tick the planner between them."""

    def __init__(self, inbox: queue.Queue[Inbound], planner: Planner, stopping: threading.Event) -> None:
        self.inbox, self.planner = inbox, planner
        self._stopping = stopping  # the agent's: set first when it stops
        self._thread = threading.Thread(target=self._run, name="commands", daemon=True)

    def start(self) -> None:
        """Start taking messages."""
        self._thread.start()

    def is_alive(self) -> bool:
        """Return True while the thread runs."""
        return self._thread.is_alive()

    def join(self, timeout: float) -> None:
        """Wait for the thread to end (once the stopping event is set)."""
        if self._thread.is_alive():
            self._thread.join(timeout=timeout)

    def handle(self, payload: bytes, topic: str = "") -> None:
        """Carry out one received message: a key update, a zone programme, or a command that came alone."""
        if topic == protocol.KEYS_TOPIC:
            self.planner.keys(payload)
        elif is_programme_topic(topic):
            self.planner.programme(payload, topic)
        else:
            self.planner.command(payload, topic)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                inbound = self.inbox.get(timeout=0.5)
            except queue.Empty:
                inbound = None
            try:
                if inbound is not None:
                    self.handle(inbound.payload, inbound.topic)
                self.planner.tick(time.time())
            except Exception:
                # One bad message (or a full disk) must not end the loop that receives every later one.
                log.exception("failed to handle a message on %s", inbound.topic if inbound else "-")
