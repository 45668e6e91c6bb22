"""What every command about an alert shares: its signed envelope, and publishing it to the alert's zones."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from sqlalchemy.orm import Session

from broadcast import metrics, protocol
from broadcast.mqtt.client import MqttAckTimeout
from broadcast.signing import commands
from broadcast.signing.commands import Publisher
from broadcast.storage.models import Alert, Command

log = logging.getLogger(__name__)


def envelope(session: Session, alert: Alert) -> dict[str, Any]:
    """Return the fields an alert, its speech or its cancel starts with: a new id and number, the alert's
    expiry and zones."""
    return {
        "id": str(uuid.uuid4()),
        "seq": commands.next_seq(session),
        "issued_at": time.time(),
        "expires_at": alert.expires_at.timestamp(),
        "zones": tuple(alert.zones),
    }


def publish(publisher: Publisher, alert: Alert, row: Command) -> None:
    """Publish a stored command on every zone of the alert, expiring with it (never under a second).

    A broker slow to acknowledge (a report flood ahead of the PUBACK in the station's socket) does not
    fail the officer's request nor skip the other zones: the command is stored and queued at QoS 1, and
    devices that stay silent are sent it again by the retry loop.
    """
    expiry = max(1.0, alert.expires_at.timestamp() - time.time())
    for zone in alert.zones:
        try:
            with metrics.publish_timer(row.kind):  # alert, alert_speech or cancel
                publisher.publish(protocol.zone_command_topic(zone), row.payload.encode(), expiry_s=expiry)
        except MqttAckTimeout as exc:
            log.warning("alert %s: %s; queued, and re-sent to devices that stay silent", alert.id, exc)
