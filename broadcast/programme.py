"""Programme: slots for approved bulletins, and turning a due slot into a signed play command."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcast import audit, commands, domain, protocol
from broadcast.accounts import Principal
from broadcast.bulletins import get_bulletin, known_zones
from broadcast.scheduler.slots import SlotError, SlotRule, parse_rule
from broadcast.storage.db import Database
from broadcast.storage.models import Clip, Command, Play, Slot

log = logging.getLogger(__name__)
RETRY_INTERVAL_S = 2.0


class Publisher(Protocol):
    """What the programme needs from the MQTT side."""

    def publish(
        self, topic: str, payload: bytes, *, expiry_s: float, retain: bool = False, wait: float = 5.0
    ) -> None: ...


class SlotPlanner(Protocol):
    """What the programme needs from the scheduler."""

    def add_slot(self, slot_id: int, rule: SlotRule) -> datetime | None: ...


@dataclass(frozen=True)
class SlotRequest:
    bulletin_id: int
    zones: list[str]
    start_at: str | None = None
    daily_at: str | None = None
    days: list[str] | None = None


@dataclass(frozen=True)
class AirContext:
    """Collaborators needed to push a slot to the loudspeakers."""

    db: Database
    publisher: Publisher
    signing_key: bytes
    public_url: str
    command_ttl_s: float


def create_slot(
    session: Session, planner: SlotPlanner, tz: str, user: Principal, request: SlotRequest, address: str
) -> tuple[Slot, datetime | None]:
    """Place an approved bulletin in the programme; returns the slot and when it will be pushed."""
    bulletin = get_bulletin(session, request.bulletin_id)
    if not domain.can_air(bulletin.status):
        raise domain.Conflict("Bản tin chưa được duyệt nên không thể xếp lịch phát.")
    zones = domain.check_zones(request.zones or bulletin.zones, known_zones(session))
    try:
        rule = parse_rule(request.start_at, request.daily_at, request.days, tz, datetime.now(UTC))
    except SlotError as exc:
        raise domain.Invalid(str(exc)) from exc
    slot = Slot(
        bulletin_id=bulletin.id,
        zones=zones,
        start_at=rule.start_at,
        daily_at=rule.daily_at,
        days=[str(d) for d in sorted(rule.days)] if rule.daily_at else [],
        created_by=user.user_id,
    )
    session.add(slot)
    session.flush()
    audit.record(session, user.name, "slot.create", f"slot:{slot.id}", address, bulletin_id=bulletin.id)
    # Commit before the job exists: the job must find the slot row when it fires.
    session.commit()
    return slot, planner.add_slot(slot.id, rule)


def _record_skip(session: Session, slot: Slot | None, start_at: datetime, reason: str) -> None:
    session.add(
        Play(
            device_id="",
            command_id=f"slot:{slot.id if slot else '?'}@{start_at.isoformat()}",
            bulletin_id=slot.bulletin_id if slot else None,
            started_at=start_at,
            outcome="skipped",
            reason=reason[:500],
        )
    )
    log.warning("slot %s at %s skipped: %s", slot.id if slot else "?", start_at.isoformat(), reason)


def _build_command(session: Session, ctx: AirContext, slot: Slot, start_at: datetime) -> Command:
    bulletin = get_bulletin(session, slot.bulletin_id)
    clip = session.get(Clip, bulletin.clip_sha256)
    if clip is None:
        raise domain.NotFound("clip missing")
    seq = commands.next_seq(session)
    start_ts = start_at.timestamp()
    command = protocol.PlayCommand(
        id=str(uuid.uuid4()),
        seq=seq,
        issued_at=time.time(),
        expires_at=start_ts + ctx.command_ttl_s,
        start_at=start_ts,
        priority=protocol.as_priority(bulletin.priority),
        zones=tuple(slot.zones),
        clip=protocol.ClipRef(
            url=f"{ctx.public_url.rstrip('/')}/clips/{clip.sha256}.mp3",
            sha256=clip.sha256,
            size=clip.size,
            duration_s=clip.duration_s,
        ),
        title=bulletin.title,
        bulletin_id=bulletin.id,
    )
    return commands.store_signed(
        session,
        command.to_body(),
        ctx.signing_key,
        start_at=start_at,
        slot_id=slot.id,
        bulletin_id=bulletin.id,
    )


def air_slot(ctx: AirContext, slot_id: int, start_at: datetime) -> str | None:
    """Push the play command for one occurrence of a slot; return its id, or None if skipped.

    Idempotent per occurrence: a re-run after a crash re-publishes the same signed command, which the
    agents de-duplicate by id, so an occurrence never plays twice.
    """
    with ctx.db.session() as session:
        slot = session.get(Slot, slot_id)
        if slot is None or not slot.active:
            _record_skip(session, slot, start_at, "lịch phát đã bị xoá hoặc tắt")
            return None
        bulletin = get_bulletin(session, slot.bulletin_id)
        if not domain.can_air(bulletin.status):
            _record_skip(session, slot, start_at, "bản tin chưa được duyệt")
            return None
        if start_at.timestamp() + ctx.command_ttl_s < time.time():
            _record_skip(session, slot, start_at, "quá giờ phát")
            return None
        existing = session.scalar(
            select(Command).where(Command.slot_id == slot.id, Command.start_at == start_at)
        )
        command = existing or _build_command(session, ctx, slot, start_at)
        payload, zones, command_id = command.payload.encode(), list(command.zones), command.id
    for zone in zones:
        _publish_until_start(ctx, protocol.zone_command_topic(zone), payload, start_at)
    log.info("pushed command %s for slot %s at %s to %s", command_id, slot_id, start_at.isoformat(), zones)
    return command_id


def _publish_until_start(ctx: AirContext, topic: str, payload: bytes, start_at: datetime) -> None:
    """Publish, retrying a broker hiccup while the command can still arrive before its start."""
    while True:
        expiry = max(1.0, start_at.timestamp() + ctx.command_ttl_s - time.time())
        try:
            ctx.publisher.publish(topic, payload, expiry_s=expiry)
            return
        except Exception as exc:  # the publisher's errors vary by adapter; all mean "try again"
            if time.time() + RETRY_INTERVAL_S >= start_at.timestamp():
                raise
            log.warning("publish to %s failed (%s); retrying in %.0f s", topic, exc, RETRY_INTERVAL_S)
            time.sleep(RETRY_INTERVAL_S)


def rule_of(slot: Slot) -> SlotRule:
    """Return the scheduling rule a stored slot describes."""
    if slot.daily_at:
        return SlotRule(daily_at=slot.daily_at, days=frozenset(int(d) for d in slot.days))
    return SlotRule(start_at=slot.start_at)


def restore_slots(db: Database, planner: SlotPlanner) -> int:
    """Re-plan every active slot still ahead (after a restore or a lead change); return how many.

    Safe to repeat: jobs are replaced by id, and a re-pushed occurrence re-sends the same command.
    """
    now = datetime.now(UTC)
    with db.session() as session:
        slots = [
            slot
            for slot in session.scalars(select(Slot).where(Slot.active.is_(True)))
            if slot.daily_at or (slot.start_at is not None and slot.start_at > now)
        ]
    for slot in slots:
        planner.add_slot(slot.id, rule_of(slot))
    return len(slots)


def record_missed(db: Database, slot_id: int, start_at: datetime) -> None:
    """Record that the scheduler skipped an occurrence (server down past the slot's grace)."""
    with db.session() as session:
        _record_skip(session, session.get(Slot, slot_id), start_at, "máy chủ không chạy đúng giờ, bỏ qua")
