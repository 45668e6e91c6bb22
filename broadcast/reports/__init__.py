"""What agents report and what the station makes of it: intake, flood guard, play log, uptime, queries, CSV.

The names below are the package's face for `from broadcast import reports` callers; the rest is private.
"""

from broadcast.reports.intake import (
    CLOCK_AHEAD_S,
    KEPT_FOREIGN_REFUSALS_PER_DAY,
    apply_message,
    ingest,
    is_stale,
    mark_silent_devices_offline,
    silence_allowed,
)

__all__ = [
    "CLOCK_AHEAD_S",
    "KEPT_FOREIGN_REFUSALS_PER_DAY",
    "apply_message",
    "ingest",
    "is_stale",
    "mark_silent_devices_offline",
    "silence_allowed",
]
