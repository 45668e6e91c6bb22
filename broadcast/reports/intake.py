"""Ingest what agents report: status (online/offline), health, proof of play, heartbeats counted per hour.

Order. Workers sharing the report subscription get a device's reports round-robin, so they can be applied
out of order. `devices.report_ts` holds the agent-clock time of the newest report whose state was applied;
a report changes the device's state only in one UPDATE ... WHERE report_ts IS NULL OR report_ts <= its
time, so an older one arriving late never overwrites a newer one, whichever worker commits first.
The last will is the exception: the broker publishes it when the link dies, but the agent wrote it (and
its ts) when it started, so it cannot be ordered by time. A will is therefore always applied, and moves
report_ts up to its own ts: reports from before that agent started become stale. A status the agent sent
itself (`will: false`, e.g. its goodbye when stopped) is ordered like any report.
An agent clock set far ahead would otherwise freeze its device's state until that date once corrected:
report_ts never goes past the station's clock plus CLOCK_AHEAD_S.

Junk. The station's ingest (with a DropLedger) stores a play, receipt or rejection only for a command the
station issued to the device's zone (the commands table); any other is counted and dropped before it
writes anything, so a device cannot grow the database with made-up command ids.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.orm import Session

from broadcast import metrics, protocol
from broadcast.fleet import presence
from broadcast.mqtt.report_guard import DropLedger
from broadcast.reports import uptime
from broadcast.storage.db import Database
from broadcast.storage.models import Command, Device, Play

log = logging.getLogger(__name__)

CLOCK_AHEAD_S = 300.0  # how far ahead of the station an agent's clock may order its reports
ALERT_KINDS = ("alert", "alert_speech", "cancel")  # commands whose delivery time /metrics shows


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
    if outcome == "received" and command is not None and command.kind in ALERT_KINDS:  # first ack
        metrics.alert_acknowledged(command.kind, (datetime.now(UTC) - command.created_at).total_seconds())


class NotIssued(protocol.ProtocolError):
    """A report about a command the station never issued to the device: dropped, never stored."""


CommandReport = protocol.PlayReport | protocol.CommandReceived | protocol.CommandRejected


# A device refusing a command the station never sent it (forged, replayed, another station's) is worth
# an officer's eye: that many such refusals per device and day are kept, the rest only counted.
KEPT_FOREIGN_REFUSALS_PER_DAY = 20


def check_issued(session: Session, message: protocol.AgentMessage) -> None:
    """Raise NotIssued if the report names a command not issued to its device's zone (two key lookups)."""
    if not isinstance(message, CommandReport):
        return
    zones = session.scalar(select(Command.zones).where(Command.id == message.command_id))
    zone = session.scalar(select(Device.zone).where(Device.id == message.device_id))
    if zones is not None and (zone is None or zone in zones):  # an unknown device: refused later
        return
    if isinstance(message, protocol.CommandRejected) and _foreign_refusals_today(session, message) < (
        KEPT_FOREIGN_REFUSALS_PER_DAY
    ):
        return
    raise NotIssued(f"command {message.command_id!r} was not issued to {message.device_id!r}")


def _foreign_refusals_today(session: Session, message: protocol.CommandRejected) -> int:
    """Return how many refusals of commands the station never issued the device reported in 24 h."""
    since = datetime.now(UTC) - timedelta(days=1)
    issued = select(Command.id).where(Command.id == Play.command_id).exists()
    query = select(func.count(Play.id)).where(
        Play.device_id == message.device_id,
        Play.outcome == "rejected",
        Play.reported_at >= since,
        ~issued,
    )
    return int(session.scalar(query) or 0)


def is_will(message: protocol.AgentMessage) -> bool:
    """Return True for a last will (or an offline status from an agent older than the `will` flag)."""
    return (
        isinstance(message, protocol.DeviceStatus)
        and message.state == "offline"
        and message.will is not False
    )


def order_ts(message: protocol.AgentMessage) -> float | None:
    """Return the agent-clock time a report is ordered by, or None if it cannot be ordered."""
    if isinstance(message, protocol.DeviceStatus):
        return None if is_will(message) or not message.ts else message.ts
    if isinstance(message, protocol.Heartbeat | protocol.CommandReceived):
        return message.ts
    if isinstance(message, protocol.PlayReport):
        return message.started_at
    return None  # a rejection carries no time


def is_stale(message: protocol.AgentMessage, newest: float | None) -> bool:
    """Return True if `message` is older than the newest report applied (`newest`: devices.report_ts)."""
    ts = order_ts(message)
    return ts is not None and newest is not None and ts < newest


def state_of(message: protocol.AgentMessage) -> dict[str, Any] | None:
    """Return the device columns a report sets when it is the newest (None: it sets nothing)."""
    if isinstance(message, protocol.DeviceStatus):
        values: dict[str, Any] = {"online": message.state == "online"}
        if message.version and not is_will(message):  # a will's version is from when it was written
            values["version"] = message.version[:64]
        return values
    if isinstance(message, protocol.Heartbeat):
        health = asdict(message)
        for key in ("device_id", "type"):
            health.pop(key, None)
        values = {"online": True, "health": health}
        if message.version:
            values["version"] = message.version[:64]
        return values
    if isinstance(message, protocol.PlayReport | protocol.CommandReceived):
        return {"online": True}  # it proves the agent was up when it sent it
    return None  # a rejection cannot be ordered, so it changes no state


def _apply_state(
    session: Session, message: protocol.AgentMessage, values: dict[str, Any], now: datetime
) -> bool:
    """Write the report's state if it is not older than the newest applied; return True if it was."""
    mine = (Device.id == message.device_id, Device.revoked.is_(False))
    ts = order_ts(message)
    latest = now.timestamp() + CLOCK_AHEAD_S
    if ts is not None:
        newer = or_(Device.report_ts.is_(None), Device.report_ts <= ts)  # equal: a duplicate, same state
        stmt = update(Device).where(*mine, newer).values(last_seen=now, report_ts=min(ts, latest), **values)
    elif is_will(message) and isinstance(message, protocol.DeviceStatus) and message.ts:
        # Always applied; report_ts becomes the later of the two (reports from before it are stale).
        will_ts = min(message.ts, latest)
        later = case(
            (or_(Device.report_ts.is_(None), Device.report_ts < will_ts), will_ts),
            else_=Device.report_ts,
        )
        stmt = update(Device).where(*mine).values(last_seen=now, report_ts=later, **values)
    else:  # an online status without a time (old agents): applied, ordered against nothing
        stmt = update(Device).where(*mine).values(last_seen=now, **values)
    return bool(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def _seen(session: Session, device_id: str, now: datetime) -> None:
    """Record that the device's link works now; refuse reports of unknown or revoked devices."""
    mine = (Device.id == device_id, Device.revoked.is_(False))
    if session.execute(update(Device).where(*mine).values(last_seen=now)).rowcount:  # type: ignore[attr-defined]
        return
    if session.scalar(select(Device.revoked).where(Device.id == device_id)) is None:
        raise protocol.ProtocolError(f"unknown device {device_id!r}")
    # e.g. queued before its revocation: nothing it says is believed any more
    raise protocol.ProtocolError(f"revoked device {device_id!r}")


def apply_message(session: Session, message: protocol.AgentMessage, issued_only: bool = False) -> bool:
    """Update the database from one parsed agent message; return True if it changed the device's state.

    last_seen is the station's clock: the link works now, whatever the report says, so even a stale
    report sets it. An error (unknown or revoked device; with issued_only, a report of a command not
    issued to the device) rolls everything back.
    """
    if issued_only:
        check_issued(session, message)
    now = datetime.now(UTC)
    values = state_of(message)
    applied = values is not None and _apply_state(session, message, values, now)
    if not applied:
        _seen(session, message.device_id, now)
    if isinstance(message, protocol.PlayReport):
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
    elif isinstance(message, protocol.CommandReceived):
        _store_play(session, message.device_id, message.command_id, "received", started_at=_ts(message.ts))
    elif isinstance(message, protocol.CommandRejected):
        _store_play(session, message.device_id, message.command_id, "rejected", reason=message.reason)
    elif isinstance(message, protocol.Heartbeat):
        # Counted even when stale: it arrived late, but the agent was up when it sent it.
        presence.count_heartbeat(session, message.device_id, now)
        if not applied:
            log.info("ignored the state of a heartbeat of %s older than the one applied", message.device_id)
    return applied


SettingsCheck = Callable[[str, Mapping[str, object], Mapping[str, object] | None], None]
"""Called with (device id, desired settings, settings the heartbeat says are applied)."""


def ingest(
    db: Database,
    topic: str,
    payload: bytes,
    on_settings: SettingsCheck | None = None,
    junk: DropLedger | None = None,
) -> None:
    """Handle one raw MQTT message from an agent; bad ones are logged and dropped, never raised.

    on_settings sees every heartbeat newer than the state applied, after it is committed. With `junk`
    (the station's), reports of commands never issued to the device are counted there and dropped,
    logged once per streak; without it (tools, tests feeding made-up ids) every report is stored.
    """
    try:
        device_id = protocol.device_id_from_topic(topic)
        message = protocol.parse_agent_message(payload, device_id)
        desired = None
        with db.session() as session:
            applied = apply_message(session, message, issued_only=junk is not None)
            if applied and on_settings is not None and isinstance(message, protocol.Heartbeat):
                desired = session.scalar(select(Device.settings).where(Device.id == device_id))
    except NotIssued as exc:
        if junk is not None and junk.drop(device_id, "unknown_command"):
            log.warning("dropping reports of %s about commands it was never sent (first: %s)", device_id, exc)
        return
    except protocol.ProtocolError as exc:
        log.warning("rejected agent message on %s: %s", topic, exc)
        return
    if desired is not None and on_settings is not None and isinstance(message, protocol.Heartbeat):
        on_settings(device_id, desired, message.settings)


def silence_allowed(silent_for_s: float, settings: Mapping[str, object] | None) -> float:
    """Return how long a device may stay silent: `silent_for_s`, or three heartbeats and a margin when
    the station set it a longer heartbeat interval (a 5-minute heartbeat is not a dead device at 95 s)."""
    interval = uptime.configured_interval(settings)
    return silent_for_s if interval is None else max(silent_for_s, 3 * interval + 5)


def mark_silent_devices_offline(db: Database, silent_for_s: float, now: datetime | None = None) -> list[str]:
    """Mark devices offline that sent nothing for `silent_for_s` (a cut link may never fire the will)."""
    moment = now or datetime.now(UTC)
    cutoff = moment - timedelta(seconds=silent_for_s)
    with db.session() as session:
        rows = session.execute(
            select(Device.id, Device.last_seen, Device.settings).where(
                Device.online.is_(True), Device.last_seen < cutoff
            )
        )
        stale = [
            device_id
            for device_id, last_seen, settings in rows
            if last_seen < moment - timedelta(seconds=silence_allowed(silent_for_s, settings))
        ]
        if stale:
            session.execute(update(Device).where(Device.id.in_(stale)).values(online=False))
    for device_id in stale:
        log.warning("device %s silent for over %.0f s: marked offline", device_id, silent_for_s)
    return stale
