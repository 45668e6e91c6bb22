"""How both ends of the MQTT link wait between reconnect attempts: capped exponential back-off, full jitter.

One policy for the agent (edge_agent/transport.py) and the station (broadcast/mqtt/client.py), so that
"back within a few seconds of the link returning" holds on both ends. It lives in the protocol package
because the agent may import nothing else of the station, and because it is part of how a client must
behave towards the broker, like the topics: thousands of agents that lost the broker at the same moment
(a broker restart, the commune's uplink) must not come back at the same moment.

The wait before attempt n (0-based since the last good connection) is drawn uniformly from
[0, min(cap, base * 2**n)) ("full jitter"): it never exceeds the cap, so a returned link is used within
`cap_s` (plus one connect), and a herd that lost the broker together spreads its attempts over the whole
window instead of arriving in waves. Pure logic: the random draw and the clock are passed in.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["RECONNECT", "Backoff", "BackoffPolicy"]


@dataclass(frozen=True)
class BackoffPolicy:
    """The numbers of a capped exponential back-off with full jitter."""

    base_s: float = 0.5  # the window of the first attempt after a loss
    cap_s: float = 5.0  # no wait is longer: the worst case after the link returns
    # A connection that lasted this long counts as good: the next loss starts again from base_s. A shorter
    # one (refused at once, dropped after CONNACK) keeps the count, so a flapping broker is not hammered.
    stable_s: float = 10.0

    def __post_init__(self) -> None:
        if not 0 < self.base_s <= self.cap_s:
            raise ValueError(f"need 0 < base_s <= cap_s, got {self.base_s} and {self.cap_s}")
        if self.stable_s < 0:
            raise ValueError("stable_s must not be negative")

    def window(self, attempt: int) -> float:
        """Return the longest wait before attempt `attempt` (0-based): base * 2**attempt, at most cap."""
        if attempt < 0:
            raise ValueError("attempt must not be negative")
        # 2**attempt grows without bound; past ~64 doublings any base is far over the cap anyway.
        return min(self.cap_s, self.base_s * 2.0 ** min(attempt, 64))

    def delay(self, attempt: int, draw: float) -> float:
        """Return the wait before attempt `attempt` for a uniform draw in [0, 1)."""
        if not 0.0 <= draw < 1.0:
            raise ValueError(f"draw must be in [0, 1), got {draw}")
        return draw * self.window(attempt)


RECONNECT = BackoffPolicy()
"""The policy both MQTT clients use."""


class Backoff:
    """The back-off state of one client: attempts since the last good connection, and the next wait."""

    def __init__(self, policy: BackoffPolicy = RECONNECT, rng: random.Random | None = None) -> None:
        self.policy = policy
        self.attempt = 0
        self._rng = rng or random.Random()
        self._connected_at: float | None = None

    def next_delay(self) -> float:
        """Return the wait before the next attempt, and count the attempt."""
        wait = self.policy.delay(self.attempt, self._rng.random())
        self.attempt += 1
        return wait

    def connected(self, now: float) -> None:
        """Note a successful connection (CONNACK accepted) at monotonic time `now`."""
        self._connected_at = now

    def disconnected(self, now: float) -> None:
        """Note a lost connection: if it had lasted stable_s, the next wait starts again from base_s."""
        if self._connected_at is not None and now - self._connected_at >= self.policy.stable_s:
            self.attempt = 0
        self._connected_at = None
