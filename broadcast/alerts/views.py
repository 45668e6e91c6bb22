"""An alert's state for pages and the API: its status in words, whether it is over, whether it is a drill."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcast.alerts import lifecycle
from broadcast.alerts.lifecycle import AlertState
from broadcast.storage.models import Alert, Clip


def _state(alert: Alert, speech_s: float | None, now: datetime) -> AlertState:
    return lifecycle.state(
        alert.status,
        alert.sent_at,
        alert.expires_at,
        alert.repeat,
        alert.interval_s,
        speech_s,
        alert.speech_status == "pending",
        alert.test,
        now,
    )


def state_of(session: Session, alert: Alert, now: datetime | None = None) -> AlertState:
    """Return the alert's state now (its speech's length bounds when the last repeat ends)."""
    clip = session.get(Clip, alert.clip_sha256) if alert.clip_sha256 else None
    return _state(alert, clip.duration_s if clip else None, now or datetime.now(UTC))


def states_of(
    session: Session, alerts: Iterable[Alert], now: datetime | None = None
) -> dict[int, AlertState]:
    """Return the states of many alerts by id, with one query for their speech lengths."""
    listed = list(alerts)
    shas = {a.clip_sha256 for a in listed if a.clip_sha256}
    lengths = dict(session.execute(select(Clip.sha256, Clip.duration_s).where(Clip.sha256.in_(shas))).all())
    when = now or datetime.now(UTC)
    return {a.id: _state(a, lengths.get(a.clip_sha256) if a.clip_sha256 else None, when) for a in listed}
