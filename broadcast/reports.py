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


def apply_message(session: Session, message: protocol.AgentMessage) -> None:
    """Update the database from one parsed agent message."""
    device = session.get(Device, message.device_id)
    if device is None:
        raise protocol.ProtocolError(f"unknown device {message.device_id!r}")
    now = datetime.now(UTC)
    device.last_seen = now
    if isinstance(message, protocol.DeviceStatus):
        device.online = message.state == "online"
        if message.version:
            device.version = message.version[:64]
    elif isinstance(message, protocol.PlayReport):
        device.online = True
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
        device.online = True
        if message.version:
            device.version = message.version[:64]
        health = asdict(message)
        for key in ("device_id", "type"):
            health.pop(key, None)
        device.health = health
    elif isinstance(message, protocol.CommandReceived):
        device.online = True
        _store_play(session, message.device_id, message.command_id, "received", started_at=_ts(message.ts))
    else:
        device.online = True
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
