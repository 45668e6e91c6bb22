"""Emergency alerts: the workflow's public face (`from broadcast import alerts`, then `alerts.raise_alert`).

`workflow` raises, confirms and cancels (who may: `rules`); `speech` synthesises an alert's speech after its
siren went out; `delivery` tracks acknowledgements and re-sends to silent devices; `templates` holds the
pre-rendered siren and phrases; `cap` reads and writes OASIS CAP 1.2.
"""

from __future__ import annotations

from broadcast.alerts.workflow import (
    MAX_ALERT_CHARS,
    AlertDeps,
    AlertRequest,
    cancel_alert,
    confirm_alert,
    confirm_correction,
    get_alert,
    list_alerts,
    raise_alert,
)

__all__ = [
    "MAX_ALERT_CHARS",
    "AlertDeps",
    "AlertRequest",
    "cancel_alert",
    "confirm_alert",
    "confirm_correction",
    "get_alert",
    "list_alerts",
    "raise_alert",
]
