"""Write rate limits for in-process test stations that write far faster than any officer."""

from __future__ import annotations

from typing import Any

# Settings keyword arguments: high enough that no test meets them, while the limiter still runs.
RAISED_RATE_LIMITS: dict[str, Any] = {
    "rate_limit_per_minute": 600_000.0,
    "rate_limit_burst": 100_000,
    "alert_rate_limit_per_minute": 600_000.0,
    "alert_rate_limit_burst": 100_000,
}
