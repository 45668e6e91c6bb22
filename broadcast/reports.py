"""Ingest what agents report: status (online/offline) and proof of play."""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from broadcast import protocol
from broadcast.storage.db import Database
from broadcast.storage.models import Command, Device, Play

log = logging.getLogger(__name__)


def _ts(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def _store_play(session: Session, device_id: str, command_id: str, outcome: str, **values: object) -> None:
    duplicate = session.scalar(
        select(Play.id).where(
            Play.device_id == device_id, Play.command_id == command_id, Play.outcome == outcome
        )
    )
    if duplicate is not None:  # QoS1 may deliver a report twice
        return
    command = session.get(Command, command_id)
    session.add(
        Play(
            device_id=device_id,
            command_id=command_id,
            bulletin_id=command.bulletin_id if command else None,
            outcome=outcome,
            **values,
        )
    )


def newest_report_ts(health: dict[str, object] | None) -> float | None:
    """Return the agent-clock time of the newest heartbeat applied (None: none yet)."""
    value = (health or {}).get("ts")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def is_stale(message: protocol.AgentMessage, newest: float | None) -> bool:
    """Return True if `message` is older than the newest heartbeat applied, so it must not change state.

    Several workers share the report subscription and the broker hands messages out round-robin, so a
    device's reports can be applied out of order. Times are compared on the agent's own clock only.
    An offline status is never stale: the broker publishes an agent's last will when the link dies, but
    the agent wrote it (and its ts) when it connected, so its ts says nothing about order.
    """
    if newest is None:
        return False
    if isinstance(message, protocol.DeviceStatus):
        return message.state == "online" and bool(message.ts) and message.ts < newest
    if isinstance(message, protocol.Heartbeat | protocol.CommandReceived):
        return message.ts < newest
    if isinstance(message, protocol.PlayReport):
        return message.started_at < newest
    return False  # a rejection carries no time


def apply_message(session: Session, message: protocol.AgentMessage) -> None:
    """Update the database from one parsed agent message (an older report never overwrites a newer one)."""
    # Write first, read second: the UPDATE takes the row's write lock (waiting for another worker applying a
    # report of the same device), so the read below sees that worker's result and the staleness check
    # compares against it rather than writing older state back over it. last_seen is the station's clock:
    # the link works now, whatever the report says. An error below rolls the update back.
    now = datetime.now(UTC)
    session.execute(update(Device).where(Device.id == message.device_id).values(last_seen=now))
    device = session.get(Device, message.device_id, populate_existing=True)
    if device is None:
        raise protocol.ProtocolError(f"unknown device {message.device_id!r}")
    if device.revoked:  # e.g. queued before its revocation: nothing it says is believed any more
        raise protocol.ProtocolError(f"revoked device {message.device_id!r}")
    stale = is_stale(message, newest_report_ts(device.health))
    if not stale:
        # A report (other than an offline status) proves the agent was up when it sent it.
        device.online = not (isinstance(message, protocol.DeviceStatus) and message.state == "offline")
    if isinstance(message, protocol.DeviceStatus):
        if message.version and not stale:
            device.version = message.version[:64]
    elif isinstance(message, protocol.PlayReport):
        _store_play(
            session,
            message.device_id,
            message.command_id,
            "played",
            clip_sha256=message.clip_sha256,
            started_at=_ts(message.started_at),
            duration_s=message.duration_s,
            priority=message.priority,
        )
    elif isinstance(message, protocol.Heartbeat):
        if stale:
            log.info("ignored a heartbeat of %s older than the one applied", message.device_id)
            return
        if message.version:
            device.version = message.version[:64]
        health = asdict(message)
        for key in ("device_id", "type"):
            health.pop(key, None)
        device.health = health
    elif isinstance(message, protocol.CommandReceived):
        _store_play(session, message.device_id, message.command_id, "received", started_at=_ts(message.ts))
    else:
        _store_play(session, message.device_id, message.command_id, "rejected", reason=message.reason)


def ingest(db: Database, topic: str, payload: bytes) -> None:
    """Handle one raw MQTT message from an agent; bad ones are logged and dropped, never raised."""
    try:
        device_id = protocol.device_id_from_topic(topic)
        message = protocol.parse_agent_message(payload, device_id)
        with db.session() as session:
            apply_message(session, message)
    except protocol.ProtocolError as exc:
        log.warning("rejected agent message on %s: %s", topic, exc)


def mark_silent_devices_offline(db: Database, silent_for_s: float, now: datetime | None = None) -> list[str]:
    """Mark devices offline that sent nothing for `silent_for_s` (a cut link may never fire the will)."""
    cutoff = (now or datetime.now(UTC)) - timedelta(seconds=silent_for_s)
    with db.session() as session:
        stale = list(
            session.scalars(select(Device.id).where(Device.online.is_(True), Device.last_seen < cutoff))
        )
        if stale:
            session.execute(update(Device).where(Device.id.in_(stale)).values(online=False))
    for device_id in stale:
        log.warning("device %s silent for over %.0f s: marked offline", device_id, silent_for_s)
    return stale
