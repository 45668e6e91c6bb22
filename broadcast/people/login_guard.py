"""Who may try a password now (pure; the clock is injected): strangers are rate-limited, known browsers not.

A stranger (no device cookie for the name being tried) spends a token from its address's bucket and from
one global bucket, before any hashing or database write: random names from one address, or one name from
many, both run dry. A browser that once logged in as that name carries a signed device cookie (the OWASP
"device cookie" scheme) and skips both buckets, so a flood never locks the real admin out; it has its own
small failure limit instead, so a stolen cookie is no password-guessing licence.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from broadcast.limits.token_bucket import Rate, TokenBuckets

DEVICE_COOKIE = "loa_device"
DEVICE_COOKIE_DAYS = 180
MAX_DEVICE_NAMES = 5  # accounts remembered per browser (a shared office computer)
MAX_DEVICES = 10_000  # device cookies with failures remembered at once
STREAK_GAP_S = 60.0  # refusals this far apart are two floods, each audited once
_DOMAIN = b"login-device\x00"  # separates these MACs from the CSRF tokens made with the same secret

Limit = Literal["address", "global", "device"]


def _mac(secret: bytes, name: str, nonce: str) -> str:
    message = _DOMAIN + name.lower().encode() + b"\x00" + nonce.encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def _encode_name(name: str) -> str:
    return base64.urlsafe_b64encode(name.lower().encode()).decode().rstrip("=")


def _decode_name(text: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None


def _entries(cookie: str) -> list[tuple[str, str, str]]:
    """Return the (name, nonce, mac) entries of a cookie value, skipping malformed ones."""
    entries = []
    for part in cookie.split("~")[:MAX_DEVICE_NAMES]:
        fields = part.split(".")
        if len(fields) == 3 and (name := _decode_name(fields[0])) is not None:
            entries.append((name, fields[1], fields[2]))
    return entries


def device_for(secret: bytes, cookie: str, name: str) -> str | None:
    """Return the device id (nonce) if the cookie vouches for this browser having logged in as name."""
    wanted = name.lower()
    for entry_name, nonce, mac in _entries(cookie):
        if entry_name == wanted and hmac.compare_digest(_mac(secret, wanted, nonce), mac):
            return nonce
    return None


def remember(secret: bytes, cookie: str, name: str) -> str:
    """Return the cookie value after a successful login as name (newest first, a few names at most)."""
    wanted = name.lower()
    nonce = device_for(secret, cookie, wanted) or secrets.token_urlsafe(12)
    fresh = f"{_encode_name(wanted)}.{nonce}.{_mac(secret, wanted, nonce)}"
    others = [
        f"{_encode_name(n)}.{d}.{m}"
        for n, d, m in _entries(cookie)
        if n != wanted and hmac.compare_digest(_mac(secret, n, d), m)
    ]
    return "~".join([fresh, *others][:MAX_DEVICE_NAMES])


@dataclass(frozen=True)
class Admission:
    """Whether an attempt may be checked; if not, which limit refused it and for how long."""

    allowed: bool
    retry_after_s: float = 0.0
    limit: Limit | None = None
    new_streak: bool = False  # the first refusal of a flood: log and audit it once


class LoginGuard:
    """Per-address and global buckets for strangers, a failure window per device cookie; thread-safe."""

    def __init__(
        self,
        per_address: Rate,
        overall: Rate,
        device_failures: int = 10,
        device_window_s: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._addresses = TokenBuckets(per_address, clock)
        self._overall = TokenBuckets(overall, clock)
        self._device_failures = device_failures
        self._device_window_s = device_window_s
        self._failures: dict[str, deque[float]] = {}
        self._clock = clock
        self._lock = threading.Lock()
        self._last_refusal: float | None = None
        self.refused = 0  # attempts refused since the station started (for logs and metrics)

    def admit(self, address: str, device: str | None) -> Admission:
        """Decide whether an attempt from address (with a valid device cookie id, or None) may go on."""
        if device is not None:
            with self._lock:
                failures = self._recent(device)
                full = len(failures) >= self._device_failures
                wait = failures[0] + self._device_window_s - self._clock() if full else 0.0
            return self._refused(wait, "device") if full else Admission(True)
        verdict_address = self._addresses.take(address)
        if not verdict_address.allowed:
            return self._refused(verdict_address.retry_after_s, "address")
        verdict_all = self._overall.take("*")
        if not verdict_all.allowed:
            return self._refused(verdict_all.retry_after_s, "global")
        return Admission(True)

    def failed(self, device: str | None) -> None:
        """Count a wrong password tried with a device cookie against that cookie's own budget."""
        if device is not None:
            with self._lock:
                self._recent(device).append(self._clock())

    def succeeded(self, device: str | None) -> None:
        """Forget a device's failures once its owner got the password right."""
        if device is not None:
            with self._lock:
                self._failures.pop(device, None)

    def _recent(self, device: str) -> deque[float]:
        if device not in self._failures and len(self._failures) >= MAX_DEVICES:
            self._failures.clear()  # a spray of forged-but-valid cookies cannot exist; this is a backstop
        failures = self._failures.setdefault(device, deque())
        while failures and failures[0] <= self._clock() - self._device_window_s:
            failures.popleft()
        return failures

    def _refused(self, retry_after_s: float, limit: Limit) -> Admission:
        now = self._clock()
        with self._lock:  # one streak across every address: a spray of addresses is one flood
            self.refused += 1
            new = self._last_refusal is None or now - self._last_refusal > STREAK_GAP_S
            self._last_refusal = now
        return Admission(False, retry_after_s, limit, new)


class LoginThrottle:
    """Allow at most `attempts` failed logins per (address, name) within `window_s` seconds."""

    def __init__(self, attempts: int = 5, window_s: float = 300.0) -> None:
        self.attempts = attempts
        self.window_s = window_s
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        return failures

    def retry_after(self, address: str, name: str) -> float:
        """Return seconds to wait before another attempt is allowed (0: allowed now)."""
        now = time.monotonic()
        with self._lock:
            failures = self._recent((address, name.lower()), now)
            if len(failures) < self.attempts:
                return 0.0
            return max(0.0, failures[0] + self.window_s - now)

    def failed(self, address: str, name: str) -> None:
        with self._lock:
            self._recent((address, name.lower()), time.monotonic()).append(time.monotonic())

    def succeeded(self, address: str, name: str) -> None:
        with self._lock:
            self._failures.pop((address, name.lower()), None)
