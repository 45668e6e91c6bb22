"""Push the programme ahead: plan the next hours per zone, sign each entry once, publish retained.

Schedule-making lives here; schedule-playing lives on the agents, which play from their stored programme
even when this server and the broker are gone.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcast import domain, metrics, protocol
from broadcast.programme import quiet as commune_quiet
from broadcast.programme import skips
from broadcast.scheduler.planner import Entry, ItemSpec, QuietHours, QuietRules, SlotPlan, as_rules, plan
from broadcast.scheduler.slots import SlotRule
from broadcast.signing import commands
from broadcast.signing.commands import Publisher
from broadcast.storage.db import Database
from broadcast.storage.models import Bulletin, Clip, Command, Slot, SlotItem, Zone, ZoneProgramme
from broadcast.storage.upsert import conflict_insert

log = logging.getLogger(__name__)

REPUBLISH_AFTER = timedelta(hours=6)
"""Republish an unchanged programme this often, so the retained copy never nears its expiry."""


@dataclass(frozen=True)
class PushContext:
    """Collaborators and policy of programme publishing."""

    db: Database
    publisher: Publisher
    signing_key: bytes
    public_url: str
    command_ttl_s: float
    tz: str
    window: timedelta = timedelta(hours=48)
    prefetch: tuple[protocol.ClipRef, ...] = ()  # alert sounds every agent keeps cached
    # The station's default quiet hours; a commune's own override it for its zones (read at each refresh).
    quiet: QuietHours | None = None


def rule_of(slot: Slot) -> SlotRule:
    """Return the scheduling rule a stored slot describes."""
    if slot.daily_at:
        return SlotRule(daily_at=slot.daily_at, days=frozenset(int(d) for d in slot.days))
    return SlotRule(start_at=slot.start_at)


def airable(session: Session, item: SlotItem) -> ItemSpec | str:
    """Return the planner's view of an item, or why it cannot air (Vietnamese, as the reports show it)."""
    item_id = item.id or -(item.position + 1)  # an item not stored yet (a slot being checked)
    if item.kind == "stream":
        if not (item.stream_url and item.duration_s):
            return skips.stream_incomplete(item.title)
        return ItemSpec(
            item_id, "stream", item.duration_s, "normal", item.position, item.stream_url, item.title
        )
    bulletin = session.get(Bulletin, item.bulletin_id) if item.bulletin_id else None
    if bulletin is None:
        return skips.bulletin_gone(item.bulletin_id)
    if not domain.can_air(bulletin.status):
        return skips.bulletin_not_airable(bulletin)
    clip = session.get(Clip, bulletin.clip_sha256)
    if clip is None:
        return skips.clip_missing(bulletin)
    return ItemSpec(
        item_id=item_id,
        kind="bulletin",
        duration_s=clip.duration_s,
        priority=bulletin.priority,
        position=item.position,
        ref=clip.sha256,
        title=bulletin.title,
        size=clip.size,
        bulletin_id=bulletin.id,
    )


def slot_plan(
    session: Session, slot_id: int, rule: SlotRule, zones: Iterable[str], items: Iterable[SlotItem]
) -> SlotPlan | None:
    """Return the plan of a slot's airable items, None if none of them can air."""
    specs = tuple(spec for item in items if isinstance(spec := airable(session, item), ItemSpec))
    return SlotPlan(slot_id, rule, tuple(zones), specs) if specs else None


def load_plans(session: Session, slots: Iterable[Slot] | None = None) -> list[SlotPlan]:
    """Return the airable plan of the given (default: all active) slots."""
    chosen = list(slots) if slots is not None else list(session.scalars(select(Slot).where(Slot.active)))
    plans: list[SlotPlan] = []
    for slot in chosen:
        items = session.scalars(
            select(SlotItem).where(SlotItem.slot_id == slot.id).order_by(SlotItem.position)
        )
        if (found := slot_plan(session, slot.id, rule_of(slot), slot.zones, items)) is not None:
            plans.append(found)
    return plans


def planned(
    plans: Iterable[SlotPlan],
    start: datetime,
    end: datetime,
    tz: str,
    quiet: QuietHours | QuietRules | None,
) -> list[Entry]:
    """Return the entries sent to at least one zone: the plan less occurrences in every zone's quiet hours."""
    chosen, rules = list(plans), as_rules(quiet)
    by_id = {p.slot_id: p for p in chosen}
    entries = plan(chosen, start, end, tz)
    return [e for e in entries if rules.quiet_zones(by_id[e.slot_id], e.occurrence, tz) != set(e.zones)]


def held_back(
    entries: Iterable[Entry], plans: Iterable[SlotPlan], rules: QuietRules, tz: str
) -> dict[str, set[str]]:
    """Return, per entry (command id), the zones it is not sent to: in the quiet hours of their commune."""
    by_id = {p.slot_id: p for p in plans}
    return {e.command_id: rules.quiet_zones(by_id[e.slot_id], e.occurrence, tz) for e in entries}


def sent_to(entry: Entry, zone: str, plans: dict[int, SlotPlan], rules: QuietRules, tz: str) -> bool:
    """Return True if the entry goes to this zone's agents (not in the quiet hours of the zone's commune)."""
    return zone in entry.zones and zone not in rules.quiet_zones(plans[entry.slot_id], entry.occurrence, tz)


def _command_body(ctx: PushContext, entry: Entry, seq: int) -> dict[str, object]:
    """Return the body of the command that plays one entry."""
    item, start = entry.item, entry.start.timestamp()
    if item.kind == "stream":
        return protocol.StreamCommand(
            id=entry.command_id,
            seq=seq,
            issued_at=time.time(),
            expires_at=start + ctx.command_ttl_s,
            start_at=start,
            priority="normal",
            zones=entry.zones,
            url=item.ref,
            duration_s=item.duration_s,
            title=item.title,
        ).to_body()
    return protocol.PlayCommand(
        id=entry.command_id,
        seq=seq,
        issued_at=time.time(),
        expires_at=start + ctx.command_ttl_s,
        start_at=start,
        priority=protocol.as_priority(item.priority),
        zones=entry.zones,
        clip=protocol.ClipRef(
            url=f"{ctx.public_url.rstrip('/')}/clips/{item.ref}.mp3",
            sha256=item.ref,
            size=item.size,
            duration_s=item.duration_s,
        ),
        title=item.title,
        bulletin_id=item.bulletin_id,
    ).to_body()


def signed_entry(session: Session, ctx: PushContext, entry: Entry) -> Command:
    """Return the outbox row of an entry, signing it the first time (same bytes on every re-plan)."""
    existing = session.get(Command, entry.command_id)
    if existing is not None:
        return existing
    body = _command_body(ctx, entry, commands.next_seq(session))
    row = {
        "id": entry.command_id,
        "seq": body["seq"],
        "kind": entry.item.kind,
        "slot_id": entry.slot_id,
        "bulletin_id": entry.item.bulletin_id,
        "start_at": entry.start,
        "zones": list(entry.zones),
        "payload": protocol.sign_body(body, ctx.signing_key).decode(),
    }
    # Idempotent: a refresh of another worker may have stored the entry since the get above. Its signed
    # bytes win (agents may hold them already); this number stays unused, a harmless gap.
    session.execute(
        conflict_insert(session, Command).values(row).on_conflict_do_nothing(index_elements=["id"])
    )
    stored = session.get(Command, entry.command_id)
    if stored is None:  # the insert either stored it or met the stored row
        raise RuntimeError(f"command {entry.command_id} neither stored nor found")
    return stored


def _programme_payload(
    ctx: PushContext, zone: str, version: int, rows: list[Command], now: datetime
) -> bytes:
    end = now + ctx.window
    message = protocol.ProgrammeMessage(
        id=str(uuid.uuid4()),
        seq=version,
        issued_at=now.timestamp(),
        expires_at=end.timestamp(),
        zone=zone,
        version=version,
        window_start=now.timestamp(),
        window_end=end.timestamp(),
        entries=tuple(row.payload for row in rows),
        prefetch=ctx.prefetch,
    )
    return protocol.sign_body(message.to_body(), ctx.signing_key)


# One refresh at a time in this process (last call, periodic job, API writes): two planning at once
# signed the same entries twice and published versions out of the order they were made.
_refreshing = threading.Lock()


def _claim(session: Session, zones: Iterable[str]) -> dict[str, ZoneProgramme]:
    """Lock the zones' programme rows, creating missing ones, so other workers' refreshes wait their turn.

    The insert takes SQLite's write lock at once; PostgreSQL locks the rows (in zone order: no deadlock).
    """
    wanted = sorted(set(zones))
    if not wanted:
        return {}
    missing = [{"zone": z, "version": 0, "digest": ""} for z in wanted]
    session.execute(conflict_insert(session, ZoneProgramme).values(missing).on_conflict_do_nothing())
    rows = session.scalars(
        select(ZoneProgramme)
        .where(ZoneProgramme.zone.in_(wanted))
        .order_by(ZoneProgramme.zone)
        .with_for_update()
    )
    return {row.zone: row for row in rows}


def refresh(ctx: PushContext, zones: Iterable[str] | None = None, *, force: bool = False) -> dict[str, int]:
    """Re-plan and publish the programme of `zones` (default all); return the versions published."""
    with _refreshing:
        return _refresh(ctx, zones, force=force)


def _refresh(ctx: PushContext, zones: Iterable[str] | None, *, force: bool) -> dict[str, int]:
    published: dict[str, int] = {}
    with ctx.db.session() as session:
        wanted = set(zones) if zones is not None else set(session.scalars(select(Zone.id)))
        states = _claim(session, wanted)
        now = datetime.now(UTC)  # after the wait: a refresh that queued plans from when it runs
        plans = load_plans(session)
        rules = commune_quiet.rules(session, ctx.quiet)
        entries = planned(plans, now, now + ctx.window, ctx.tz, rules)
        held = held_back(entries, plans, rules, ctx.tz)
        # A zone whose last sent window ended before now: what fell in between never reached its agents.
        ran_out = {
            z: s.window_end for z, s in states.items() if s.window_end is not None and s.window_end < now
        }
        skips.record_unsent(session, plans, ran_out, now, ctx.tz, rules)
        outgoing: list[tuple[str, bytes]] = []
        for zone in sorted(wanted):
            sent = [e for e in entries if zone in e.zones and zone not in held[e.command_id]]
            rows = [signed_entry(session, ctx, e) for e in sent]
            digest = hashlib.sha256("\n".join(r.id for r in rows).encode()).hexdigest()
            state = states[zone]
            fresh = state.published_at is not None and now - state.published_at < REPUBLISH_AFTER
            if state.digest == digest and fresh and not force:
                continue
            state.version += 1
            state.digest, state.published_at, state.window_end = digest, now, now + ctx.window
            session.add(state)
            outgoing.append((zone, _programme_payload(ctx, zone, state.version, rows, now)))
            published[zone] = state.version
    # Published after the commit: an agent must never hold a version the database does not know.
    for zone, payload in outgoing:
        with metrics.publish_timer("programme"):
            ctx.publisher.publish(
                protocol.zone_programme_topic(zone), payload, expiry_s=ctx.window.total_seconds(), retain=True
            )
        log.info("published programme v%s for zone %s (%d bytes)", published[zone], zone, len(payload))
    return published
