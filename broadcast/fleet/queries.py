"""What the device pages and the device API read: the clusters an account covers, listed and paged,
and the clusters that need an officer's eye (offline, clock off, refusing commands)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Row, func, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from broadcast.fleet import refusal_text
from broadcast.people import tenancy
from broadcast.people.accounts import Principal
from broadcast.storage.models import Device, Play, Zone
from edge_agent.clock import NTP_WARN_MS

REFUSALS_WINDOW = timedelta(hours=24)  # refusals older than this no longer make a cluster a problem
HTTP_CLOCK_UNCERTAINTY_MS = 1000.0  # an offset read from a Date header (whole seconds) is only good to ±1 s
ProblemKind = Literal["offline", "clock", "refusing"]
_KIND_ORDER: dict[str, int] = {"offline": 0, "refusing": 1, "clock": 2}


@dataclass(frozen=True)
class DeviceProblem:
    """One reason a cluster needs attention; `zone` is the zone's display name (its id if it has none)."""

    device_id: str
    zone: str
    kind: ProblemKind
    detail: str  # Vietnamese, for the officer
    since: datetime | None


def active_devices(session: Session, viewer: Principal) -> list[Device]:
    """Return the devices the account covers that are not revoked, by zone and id."""
    query = (
        select(Device)
        .where(tenancy.device_filter(viewer), Device.revoked.is_(False))
        .order_by(Device.zone, Device.id)
    )
    return list(session.scalars(query))


def device_zones(session: Session, viewer: Principal) -> dict[str, str]:
    """Return device id -> zone for every device the account covers (revoked ones too)."""
    query = select(Device.id, Device.zone).where(tenancy.device_filter(viewer))
    return {row.id: row.zone for row in session.execute(query)}


def device_page(
    session: Session,
    viewer: Principal,
    columns: tuple[InstrumentedAttribute[Any], ...],
    offset: int,
    limit: int,
) -> tuple[int, list[Row[Any]]]:
    """Return how many devices the account covers, and a page of them (rows of `columns`) by zone and id.

    Rows, not ORM objects: a province lists up to 2,000 devices and loading each costs more than the query.
    """
    scope = tenancy.device_filter(viewer)
    total = session.scalar(select(func.count(Device.id)).where(scope)) or 0
    query = select(*columns).where(scope).order_by(Device.zone, Device.id).offset(offset).limit(limit)
    return total, list(session.execute(query).all())


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and abs(number) < 1e12 else None


def clock_warning_ms(device: Device) -> float:
    """Return the clock offset a cluster warns about: its desired setting, else applied, else the default."""
    applied = (device.health or {}).get("settings")
    for source in (device.settings or {}, applied if isinstance(applied, dict) else {}):
        value = _number(source.get("ntp_warn_ms"))
        if value is not None:
            return value
    return NTP_WARN_MS


def clock_problem(device: Device) -> str | None:
    """Return why a cluster's clock is off (Vietnamese), or None if it is within the warning.

    The measurement's own uncertainty is taken off first: an offset read from a Date header is good to ±1 s,
    so "+562 ms" from such a reading is not a clock problem.
    """
    health = device.health or {}
    offset = _number(health.get("clock_offset_ms"))
    if offset is None:
        return None
    uncertainty = _number(health.get("clock_uncertainty_ms"))
    if uncertainty is None:
        uncertainty = HTTP_CLOCK_UNCERTAINTY_MS if health.get("clock_source") == "http" else 0.0
    warning = clock_warning_ms(device)
    if abs(offset) - uncertainty <= warning:
        return None
    way = "nhanh" if offset > 0 else "chậm"
    return f"Đồng hồ {way} {abs(offset):.0f} ms so với chuẩn (ngưỡng cảnh báo {warning:.0f} ms)."


def recent_refusals(session: Session, device_ids: list[str], since: datetime) -> dict[str, list[Play]]:
    """Return each cluster's refusals since a time (newest first), leaving out those after a cancel."""
    found: dict[str, list[Play]] = {}
    if not device_ids:
        return found
    query = (
        select(Play)
        .where(Play.outcome == "rejected", Play.reported_at >= since, Play.device_id.in_(device_ids))
        .order_by(Play.id.desc())
    )
    for play in session.scalars(query):
        if not refusal_text.is_officer_action(play.reason):
            found.setdefault(play.device_id, []).append(play)
    return found


def _refusing(device_id: str, zone: str, refused: list[Play]) -> DeviceProblem:
    times = "1 lệnh" if len(refused) == 1 else f"{len(refused)} lệnh"
    detail = f"Từ chối {times} trong 24 giờ qua. {refusal_text.describe(refused[0].reason)}"
    return DeviceProblem(device_id, zone, "refusing", detail, refused[-1].reported_at)


def refusing(session: Session, device: Device, zone_name: str, now: datetime) -> DeviceProblem | None:
    """Return one cluster's "refusing" problem (its own page), or None if it refused nothing lately."""
    refused = recent_refusals(session, [device.id], now - REFUSALS_WINDOW).get(device.id)
    return _refusing(device.id, zone_name, refused) if refused else None


def device_problems(
    session: Session, viewer: Principal | None, now: datetime | None = None
) -> list[DeviceProblem]:
    """Return the problems of the active clusters a viewer covers (None: all): offline first, then
    refusing commands in the last 24 h, then clocks off by more than their warning; by zone and id."""
    now = now or datetime.now(UTC)
    scope = tenancy.device_filter(viewer) if viewer is not None else true()
    devices = list(
        session.scalars(
            select(Device).where(scope, Device.revoked.is_(False)).order_by(Device.zone, Device.id)
        )
    )
    names = {
        z.id: z.name or z.id
        for z in session.scalars(select(Zone).where(Zone.id.in_({d.zone for d in devices})))
    }
    refusals = recent_refusals(session, [d.id for d in devices], now - REFUSALS_WINDOW)
    problems: list[DeviceProblem] = []
    for device in devices:
        zone = names.get(device.zone, device.zone)
        if not device.online:
            seen = "chưa từng kết nối" if device.last_seen is None else "mất kết nối"
            problems.append(DeviceProblem(device.id, zone, "offline", f"Cụm loa {seen}.", device.last_seen))
        else:
            clock = clock_problem(device)
            if clock is not None:
                problems.append(DeviceProblem(device.id, zone, "clock", clock, None))
        refused = refusals.get(device.id)
        if refused:
            problems.append(_refusing(device.id, zone, refused))
    order = {d.id: i for i, d in enumerate(devices)}
    return sorted(problems, key=lambda p: (_KIND_ORDER[p.kind], order[p.device_id]))
