"""Token buckets per caller (pure; the clock is injected): a burst at once, then a steady rate.

Each key starts with `burst` tokens; a request takes one; tokens come back at per_minute / 60 a second,
up to `burst`. A refused request says when the next token arrives (the Retry-After header).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_KEYS = 10_000  # callers remembered at once; a full bucket is forgotten first (it means "no history")


@dataclass(frozen=True)
class Rate:
    """How many requests a key may make: `burst` at once, `per_minute` on average; per_minute 0: no limit."""

    per_minute: float
    burst: int

    @property
    def unlimited(self) -> bool:
        return self.per_minute <= 0

    @property
    def per_second(self) -> float:
        return self.per_minute / 60.0


@dataclass(frozen=True)
class Verdict:
    """Whether a request may go ahead; if not, in how many seconds it may, and whether it is the first
    refusal since the key was last allowed (logged once per streak, not once per request of a flood)."""

    allowed: bool
    retry_after_s: float = 0.0
    first_refusal: bool = False

    @property
    def retry_after_header(self) -> str:
        """Return Retry-After in whole seconds, at least 1."""
        return str(max(1, math.ceil(self.retry_after_s)))


@dataclass
class _Bucket:
    tokens: float
    updated: float
    refusing: bool = False


class TokenBuckets:
    """One bucket per key (account or address), all at the same rate; thread-safe."""

    def __init__(
        self, rate: Rate, clock: Callable[[], float] = time.monotonic, max_keys: int = MAX_KEYS
    ) -> None:
        if rate.burst < 1:
            raise ValueError("burst must be at least 1")
        self.rate = rate
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> Verdict:
        """Take one token for key; return whether the request may go ahead."""
        if self.rate.unlimited:
            return Verdict(True)
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self._max_keys:
                    self._forget(now)
                bucket = self._buckets[key] = _Bucket(float(self.rate.burst), now)
            self._refill(bucket, now)
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                bucket.refusing = False
                return Verdict(True)
            first = not bucket.refusing
            bucket.refusing = True
            return Verdict(False, (1.0 - bucket.tokens) / self.rate.per_second, first)

    def __len__(self) -> int:
        return len(self._buckets)

    def _refill(self, bucket: _Bucket, now: float) -> None:
        elapsed = max(0.0, now - bucket.updated)  # a clock that went back gives nothing, takes nothing
        bucket.tokens = min(float(self.rate.burst), bucket.tokens + elapsed * self.rate.per_second)
        bucket.updated = now

    def _forget(self, now: float) -> None:
        """Drop full buckets; if too many keys remain (a spray of addresses), the least recently used half."""
        for key, bucket in list(self._buckets.items()):
            self._refill(bucket, now)
            if bucket.tokens >= self.rate.burst:
                del self._buckets[key]
        if len(self._buckets) >= self._max_keys:
            by_age = sorted(self._buckets, key=lambda k: self._buckets[k].updated)
            for key in by_age[: len(by_age) // 2 + 1]:
                del self._buckets[key]
