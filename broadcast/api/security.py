"""HTTP hardening: security headers on every answer, and a login throttle against password guessing."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    # Pages use only our own scripts/styles (plus small inline ones) and play our own clips.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; media-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
        "form-action 'self'; base-uri 'none'"
    ),
}


def install_security_headers(app: FastAPI) -> None:
    """Add the headers to every response (docs pages keep their CDN-free defaults)."""

    @app.middleware("http")
    async def _headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for name, value in HEADERS.items():
            if name == "Content-Security-Policy" and request.url.path in ("/docs", "/redoc"):
                continue  # Swagger UI loads its own assets
            response.headers.setdefault(name, value)
        if request.url.scheme == "https":
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


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
