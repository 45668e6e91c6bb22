"""Alert delivery: which loudspeakers acknowledged and played an alert, and re-sending to the silent ones.

Runs on the station's alert-retry loop: live alerts (and their speech) go again to devices that have not
acknowledged them, and speech that no worker finished is synthesised again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcast import metrics, protocol
from broadcast.alerts import lifecycle
from broadcast.alerts.speech import send_speech
from broadcast.alerts.workflow import AlertDeps
from broadcast.mqtt.client import MqttAckTimeout
from broadcast.people import tenancy
from broadcast.people.accounts import Principal
from broadcast.storage.models import Alert, Command, Device, Play

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    devices: list[str]
    received: list[str]
    played: list[str]

    @property
    def silent(self) -> list[str]:
        return sorted(set(self.devices) - set(self.received) - set(self.played))


def delivery(session: Session, alert: Alert, viewer: Principal | None = None) -> Delivery:
    """Return which devices of the alert's zones acknowledged and which started playing it.

    With a viewer, only the devices that account covers are listed (a province alert reaches others).
    """
    query = select(Device.id).where(Device.zone.in_(alert.zones), Device.revoked.is_(False))
    if viewer is not None:
        query = query.where(tenancy.device_filter(viewer))
    devices = sorted(session.scalars(query))
    acks = (
        session.execute(select(Play.device_id, Play.outcome).where(Play.command_id == alert.command_id)).all()
        if alert.command_id
        else []
    )
    if viewer is not None:
        acks = [a for a in acks if a.device_id in devices]
    return Delivery(
        devices=devices,
        received=sorted({d for d, o in acks if o == "received"}),
        played=sorted({d for d, o in acks if o == "played"}),
    )


def retry_silent(deps: AlertDeps) -> int:
    """Re-send live alerts (and their speech) to devices that have not acknowledged them; return the sends.

    Speech that is ready but was not sent (its worker lost a race with the confirmation) is sent here.
    """
    now = datetime.now(UTC)
    sends: list[tuple[str, bytes, float]] = []
    resume_speech(deps, now)
    with deps.push.db.session() as session:
        live = list(session.scalars(select(Alert).where(Alert.status == "sent", Alert.expires_at > now)))
        for alert in live:
            if send_speech(session, deps, alert):
                continue  # just published to the zones
            command = session.get(Command, alert.command_id) if alert.command_id else None
            if command is None:
                continue
            expiry = (alert.expires_at - now).total_seconds()
            speech = session.get(Command, alert.speech_command_id) if alert.speech_command_id else None
            seen = delivery(session, alert)
            silent = seen.silent
            for device in silent:
                sends.append((protocol.device_command_topic(device), command.payload.encode(), expiry))
            if speech is not None:
                heard = _acknowledged(session, speech.id)
                for device in sorted(set(seen.devices) - heard):
                    sends.append((protocol.device_command_topic(device), speech.payload.encode(), expiry))
    for topic, payload, expiry in sends:
        try:
            with metrics.publish_timer("alert_retry"):
                deps.push.publisher.publish(topic, payload, expiry_s=max(1.0, expiry))
        except MqttAckTimeout as exc:  # queued all the same; the next devices must not wait for it
            log.warning("alert retry: %s", exc)
    return len(sends)


# Speech still pending this long after its alert was raised lost its worker (a station killed mid-synthesis,
# or another worker's): synthesise it here. The store step takes it only while pending, so a slow first
# worker and this one never both send it.
SPEECH_STALE_S = 30.0


def resume_speech(deps: AlertDeps, now: datetime) -> list[int]:
    """Synthesise again the speech of live alerts that no worker finished; return their ids."""
    if deps.speech is None:
        return []
    stale = now - timedelta(seconds=SPEECH_STALE_S)
    with deps.push.db.session() as session:
        pending = session.execute(
            select(Alert.id, Alert.text, Alert.test).where(
                Alert.speech_status == "pending",
                Alert.status.in_(("awaiting_confirmation", "sent")),
                Alert.expires_at > now,
                Alert.created_at < stale,
            )
        ).all()
    resumed = []
    for alert_id, text, test in pending:
        if not deps.speech.busy(alert_id):
            log.warning(
                "alert %s: speech still pending after %.0f s; synthesising it again", alert_id, SPEECH_STALE_S
            )
            deps.speech.submit(deps, alert_id, lifecycle.spoken_source(text, test))
            resumed.append(alert_id)
    return resumed


def _acknowledged(session: Session, command_id: str) -> set[str]:
    """Return the devices that acknowledged (or reported on) a command."""
    return set(session.scalars(select(Play.device_id).where(Play.command_id == command_id)))
