"""Proof of play: filter the log, export it as CSV, and summarise a day per zone."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, func, select, true
from sqlalchemy.orm import Session

from broadcast import csv_export
from broadcast.people import tenancy
from broadcast.people.accounts import Principal
from broadcast.scheduler.slots import zone as tz_zone
from broadcast.storage.models import Device, Play

OUTCOME_LABELS = {"played": "Đã phát", "rejected": "Từ chối", "skipped": "Bỏ qua", "received": "Đã nhận"}


@dataclass(frozen=True)
class PlayFilter:
    device_id: str | None = None
    zone: str | None = None
    bulletin_id: int | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 200
    offset: int = 0
    before_id: int | None = None  # keyset paging: only plays with a smaller id


MAX_EXPORT = 100_000  # rows in one CSV export


def query(f: PlayFilter, viewer: Principal | None = None) -> Select[Play]:
    """Return the newest-first query for a filter; a viewer sees only the plays of their devices."""
    stmt = select(Play).order_by(Play.id.desc()).offset(f.offset).limit(f.limit)
    if f.before_id is not None:
        stmt = stmt.where(Play.id < f.before_id)
    if viewer is not None:
        stmt = stmt.where(tenancy.play_filter(viewer))
    if f.device_id:
        stmt = stmt.where(Play.device_id == f.device_id)
    if f.zone:
        stmt = stmt.where(Play.device_id.in_(select(Device.id).where(Device.zone == f.zone)))
    if f.bulletin_id is not None:
        stmt = stmt.where(Play.bulletin_id == f.bulletin_id)
    if f.outcome:
        stmt = stmt.where(Play.outcome == f.outcome)
    if f.since:
        stmt = stmt.where(Play.reported_at >= f.since)
    if f.until:
        stmt = stmt.where(Play.reported_at < f.until)
    return stmt


def find(session: Session, f: PlayFilter, viewer: Principal | None = None) -> list[Play]:
    """Return the plays a filter selects, newest first; a viewer sees only the plays of their devices."""
    return list(session.scalars(query(f, viewer)))


def to_csv(plays: list[Play], zones: dict[str, str], tz: str) -> str:
    """Return the plays as CSV; reasons and ids come from devices, so every cell is neutralised."""
    local = tz_zone(tz)
    header = ["thiet_bi", "vung", "ban_tin", "lenh", "bat_dau", "thoi_luong_s", "muc", "ket_qua", "ly_do"]
    return csv_export.to_csv(
        header,
        (
            [
                p.device_id,
                zones.get(p.device_id, ""),
                p.bulletin_id or "",
                p.command_id,
                p.started_at.astimezone(local).strftime("%Y-%m-%d %H:%M:%S") if p.started_at else "",
                f"{p.duration_s:.1f}",
                p.priority,
                OUTCOME_LABELS.get(p.outcome, p.outcome),
                p.reason,
            ]
            for p in plays
        ),
    )


@dataclass
class ZoneDay:
    """One zone's day: how many plays, by whom, what was skipped and why, who stayed silent."""

    zone: str
    devices: list[str]
    played: int = 0
    seconds_played: float = 0.0
    commands: set[str] = field(default_factory=set)
    devices_played: set[str] = field(default_factory=set)
    problems: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "zone": self.zone,
            "devices": self.devices,
            "plays": self.played,
            "minutes_played": round(self.seconds_played / 60, 1),
            "items": len(self.commands),
            "silent_devices": sorted(set(self.devices) - self.devices_played),
            "problems": self.problems,
        }


def daily_report(
    session: Session, day: date, tz: str, zone: str | None = None, viewer: Principal | None = None
) -> list[dict[str, object]]:
    """Summarise one local day per zone (a viewer's zones only)."""
    local = tz_zone(tz)
    start = datetime.combine(day, time(0), tzinfo=local)
    scope = tenancy.device_filter(viewer) if viewer is not None else true()
    devices = list(session.scalars(select(Device).where(Device.revoked.is_(False), scope)))
    by_zone: dict[str, ZoneDay] = {}
    for d in sorted(devices, key=lambda d: d.id):
        if zone is None or d.zone == zone:
            by_zone.setdefault(d.zone, ZoneDay(d.zone, [])).devices.append(d.id)
    zone_of = {d.id: d.zone for d in devices}
    when = func.coalesce(Play.started_at, Play.reported_at)  # a rejection has no start, only a report time
    plays = session.scalars(select(Play).where(when >= start, when < start + timedelta(days=1)))
    problems: defaultdict[str, list[dict[str, str]]] = defaultdict(list)
    for p in plays:
        report = by_zone.get(zone_of.get(p.device_id, ""))
        if report is None:
            continue
        if p.outcome == "received":
            continue  # an acknowledgement, neither a play nor a problem
        if p.outcome == "played":
            report.played += 1
            report.seconds_played += p.duration_s
            report.commands.add(p.command_id)
            report.devices_played.add(p.device_id)
        else:
            at = (p.started_at or p.reported_at).astimezone(local).strftime("%H:%M")
            problems[report.zone].append(
                {
                    "device": p.device_id,
                    "at": at,
                    "outcome": OUTCOME_LABELS.get(p.outcome, p.outcome),
                    "reason": p.reason,
                }
            )
    for name, report in by_zone.items():
        report.problems = problems[name]
    return [by_zone[z].as_dict() for z in sorted(by_zone)]
