"""The station side of the benchmarks: count and time what the station consumes from agents."""

from __future__ import annotations

import bisect
import threading
import time
from collections import Counter

from broadcast import protocol


class Ingest:
    """A StationMqtt agent-message callback that parses (as the station must) and timestamps each message."""

    def __init__(self, parse: bool = True) -> None:
        self.parse = parse
        self._lock = threading.Condition()
        self._times: list[float] = []  # consumption instants, in order (one consumer thread appends)
        self.counts: Counter[str] = Counter()
        self._acks: dict[str, list[float]] = {}
        self._online: set[str] = set()
        self.all_online_at: float | None = None
        self.expect_online = 0
        self.errors = 0

    def __call__(self, topic: str, payload: bytes) -> None:
        """Consume one status/event message (runs on StationMqtt's consumer thread)."""
        now = time.time()
        kind = "unparsed"
        message: protocol.AgentMessage | None = None
        if self.parse:
            try:
                message = protocol.parse_agent_message(payload, protocol.device_id_from_topic(topic))
                kind = message.type
            except protocol.ProtocolError:
                kind = "invalid"
        with self._lock:
            self._times.append(now)
            self.counts[kind] += 1
            if isinstance(message, protocol.PlayReport):
                self._acks.setdefault(message.command_id, []).append(now)
                self._lock.notify_all()
            elif isinstance(message, protocol.DeviceStatus):
                self._note_status(message, now)

    def _note_status(self, status: protocol.DeviceStatus, now: float) -> None:
        if status.state == "online":
            self._online.add(status.device_id)
        else:
            self._online.discard(status.device_id)
        if self.all_online_at is None and self.expect_online and len(self._online) >= self.expect_online:
            self.all_online_at = now

    def online(self) -> int:
        """Return how many devices the station currently believes online."""
        with self._lock:
            return len(self._online)

    def total(self) -> int:
        """Return how many messages were consumed so far."""
        with self._lock:
            return len(self._times)

    def between(self, start: float, end: float) -> list[float]:
        """Return the consumption instants within [start, end]."""
        with self._lock:
            lo = bisect.bisect_left(self._times, start)
            hi = bisect.bisect_right(self._times, end)
            return self._times[lo:hi]

    def acks(self, command_id: str) -> list[float]:
        """Return when the station received each play report for command_id."""
        with self._lock:
            return list(self._acks.get(command_id, []))

    def wait_acks(self, command_id: str, expected: int, timeout_s: float = 30.0) -> list[float]:
        """Wait until `expected` play reports for command_id arrived (or timeout); return their instants."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while len(self._acks.get(command_id, [])) < expected and time.monotonic() < deadline:
                self._lock.wait(0.1)
            return list(self._acks.get(command_id, []))

    def wait_quiet(self, quiet_s: float = 0.3, timeout_s: float = 30.0) -> float:
        """Wait until nothing has arrived for quiet_s; return the instant of the last arrival."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                last = self._times[-1] if self._times else 0.0
            if time.time() - last >= quiet_s:
                return last
            time.sleep(quiet_s / 3)
        with self._lock:
            return self._times[-1] if self._times else 0.0
