"""Queries behind the reports page: plays, problems, availability and uptime of the devices an account sees.

The arithmetic lives in reports/tallies.py and reports/uptime.py; this module only reads rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcast.fleet import presence
from broadcast.people import tenancy
from broadcast.people.accounts import Principal
from broadcast.reports import uptime
from broadcast.reports.tallies import PlayedRow, SkippedRow
from broadcast.storage.models import Command, Device, Play, SkippedSlot, Slot, SlotItem

AIRED_KINDS = ("bulletin", "stream", "alert")  # commands every device of their zones must answer
PROBLEM_OUTCOMES = ("skipped", "rejected")


CHUNK = 500  # ids per IN list


def _chunks(items: Sequence[str], size: int = CHUNK) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def played_rows(
    session: Session, devices: Sequence[Device], start: datetime, end: datetime
) -> list[PlayedRow]:
    """Return the 'played' reports of these devices that started in [start, end)."""
    zone_of = {d.id: d.zone for d in devices}
    stmt = select(Play.device_id, Play.command_id, Play.started_at).where(
        Play.outcome == "played", Play.started_at >= start, Play.started_at < end
    )
    # A commune's few devices: ask for them by id. Many (a province): read the period by its time index and
    # keep the wanted devices here, which beats thousands of ids in IN lists.
    batches = (
        [stmt]
        if len(zone_of) > CHUNK
        else [stmt.where(Play.device_id.in_(ids)) for ids in _chunks(sorted(zone_of))]
    )
    rows: list[PlayedRow] = []
    for batch in batches:
        for device_id, command_id, started_at in session.execute(batch):
            if device_id in zone_of and started_at is not None:
                rows.append(PlayedRow(zone_of[device_id], device_id, command_id, started_at))
    return rows


@dataclass(frozen=True)
class Problem:
    """A play that did not happen as planned, and the reason the device gave."""

    at: datetime
    device_id: str
    zone: str
    bulletin_id: int | None
    outcome: str
    reason: str
    command_id: str = ""  # what played: reports.play_rows names it


def problems(
    session: Session, devices: Sequence[Device], start: datetime, end: datetime, limit: int = 200
) -> list[Problem]:
    """Return the newest skipped or refused plays of these devices in [start, end)."""
    zone_of = {d.id: d.zone for d in devices}
    when = func.coalesce(Play.started_at, Play.reported_at)  # a refusal has no start, only a report time
    found: list[Problem] = []
    for ids in _chunks(sorted(zone_of)):
        stmt = (
            select(Play)
            .where(Play.outcome.in_(PROBLEM_OUTCOMES), when >= start, when < end, Play.device_id.in_(ids))
            .order_by(when.desc())
            .limit(limit)
        )
        for p in session.scalars(stmt):
            at = p.started_at or p.reported_at
            found.append(
                Problem(
                    at, p.device_id, zone_of[p.device_id], p.bulletin_id, p.outcome, p.reason, p.command_id
                )
            )
    return sorted(found, key=lambda p: p.at, reverse=True)[:limit]


def skipped_slots(
    session: Session, viewer: Principal, zone: str, start: datetime, end: datetime, limit: int = 200
) -> list[SkippedRow]:
    """Return the programme occurrences in [start, end) the station did not send, newest first.

    Scoped like slots: a commune account sees its commune's; `zone` (optional) keeps the ones for it.
    """
    stmt = (
        select(SkippedSlot, Slot.title)
        .join(Slot, Slot.id == SkippedSlot.slot_id)
        .where(
            SkippedSlot.start_at >= start,
            SkippedSlot.start_at < end,
            tenancy.commune_filter(SkippedSlot.commune_id, viewer),
        )
        .order_by(SkippedSlot.start_at.desc(), SkippedSlot.id)
    )
    rows: list[SkippedRow] = []
    for skip, title in session.execute(stmt):
        if zone and zone not in skip.zones:  # JSON lists: filtered here
            continue
        rows.append(SkippedRow(skip.start_at, skip.slot_id, title, tuple(skip.zones), skip.reason))
        if len(rows) >= limit:
            break
    return rows


def _duration(kind: str, payload: str) -> float:
    """Return how long a stored command plays, from its signed payload (0 if it does not say)."""
    try:
        body = json.loads(payload)
        value = body.get("duration_s") if kind == "stream" else (body.get("clip") or {}).get("duration_s")
        return float(value) if isinstance(value, int | float) else 0.0
    except (ValueError, AttributeError):
        return 0.0


def _planned(session: Session, slot_ids: set[int]) -> tuple[set[int], set[tuple[int, int | None]]]:
    """Return the active slots among these, and (slot, bulletin) pairs they still hold (None: a stream)."""
    if not slot_ids:
        return set(), set()
    active = set(session.scalars(select(Slot.id).where(Slot.id.in_(slot_ids), Slot.active.is_(True))))
    pairs = {
        (slot_id, bulletin_id if kind == "bulletin" else None)
        for slot_id, bulletin_id, kind in session.execute(
            select(SlotItem.slot_id, SlotItem.bulletin_id, SlotItem.kind).where(SlotItem.slot_id.in_(active))
        )
    }
    return active, pairs


def due_commands(session: Session, zones: set[str], start: datetime, end: datetime) -> list[uptime.Due]:
    """Return the commands to any of `zones` starting in [start, end), which their devices should answer."""
    stmt = select(
        Command.id, Command.zones, Command.start_at, Command.kind, Command.slot_id, Command.bulletin_id
    )
    stmt = stmt.where(Command.kind.in_(AIRED_KINDS), Command.start_at >= start, Command.start_at < end)
    rows = [r for r in session.execute(stmt) if zones.intersection(r.zones)]  # JSON lists: filtered here
    durations: dict[str, float] = {}
    for ids in _chunks([r.id for r in rows]):  # only the payloads of the commands that matter
        for command_id, kind, payload in session.execute(
            select(Command.id, Command.kind, Command.payload).where(Command.id.in_(ids))
        ):
            durations[command_id] = _duration(kind, payload)
    active, pairs = _planned(session, {r.slot_id for r in rows if r.slot_id is not None})
    due: list[uptime.Due] = []
    for r in rows:
        if r.slot_id is None:
            planned = True
        else:
            held = r.bulletin_id if r.kind == "bulletin" else None
            planned = r.slot_id in active and (r.slot_id, held) in pairs
        due.append(uptime.Due(r.id, tuple(r.zones), r.start_at, r.kind, planned, durations.get(r.id, 0.0)))
    return due


def answered(session: Session, device_ids: Sequence[str], command_ids: Sequence[str]) -> set[tuple[str, str]]:
    """Return (device, command) of every report these devices sent on these commands."""
    wanted = set(command_ids)
    found: set[tuple[str, str]] = set()
    for devices in _chunks(sorted(device_ids)):
        # Reads only the (device_id, command_id, outcome) unique index; filtering here beats an IN list of
        # thousands of command ids, and plays has no index on command_id alone.
        stmt = select(Play.device_id, Play.command_id).where(Play.device_id.in_(devices))
        found.update((d, c) for d, c in session.execute(stmt) if c in wanted)
    return found


def heard(session: Session, command_ids: Sequence[str]) -> set[str]:
    """Return which of these commands any device at all reported on."""
    found: set[str] = set()
    for ids in _chunks(sorted(command_ids)):
        found.update(session.scalars(select(Play.command_id).where(Play.command_id.in_(ids)).distinct()))
    return found


def availability(
    session: Session, devices: Sequence[Device], start: datetime, end: datetime, now: datetime
) -> list[uptime.Availability]:
    """Return each device's share of due items it answered in [start, end) (see reports/uptime.py)."""
    lives = [uptime.Enrolment(d.id, d.zone, d.created_at, d.revoked_at) for d in devices]
    due = due_commands(session, {d.zone for d in devices}, start, end)
    replies = answered(session, [d.id for d in devices], [c.command_id for c in due])
    # Whether an unplanned entry aired at all is asked of every device, not only the ones shown.
    unplanned = heard(session, [c.command_id for c in due if not c.still_planned])
    return uptime.availability(lives, due, replies, start, end, now, unplanned)


def heartbeat_uptime(
    session: Session, devices: Sequence[Device], start: datetime, end: datetime, now: datetime
) -> dict[str, uptime.Uptime]:
    """Return each device's heartbeats received / expected in [start, end) (see reports/uptime.py)."""
    lives = [uptime.Enrolment(d.id, d.zone, d.created_at, d.revoked_at) for d in devices]
    intervals = {d.id: uptime.configured_interval(d.settings) or uptime.HEARTBEAT_INTERVAL_S for d in devices}
    seen: dict[str, int] = {}
    for interval in set(intervals.values()):  # the hourly cap depends on the interval
        ids = [device_id for device_id, value in intervals.items() if value == interval]
        per_hour = uptime.heartbeats_per_hour(interval)
        seen.update(presence.heartbeats_seen(session, ids, start, end, per_hour))
    since = presence.counting_since(session)
    return uptime.uptime(lives, seen, start, end, now, counted_since=since, intervals=intervals)
