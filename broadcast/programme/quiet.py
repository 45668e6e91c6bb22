"""Quiet hours per commune: its admin sets them (or none); communes without a setting keep the station's.

The station-wide BROADCAST_QUIET_HOURS is the default; a commune's own setting, where one exists,
overrides it. Slot checks, publishing and the programme page resolve quiet hours per zone through the
zone's commune (`rules`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcast import domain
from broadcast.people import audit
from broadcast.people.accounts import Principal
from broadcast.scheduler.planner import QuietHours, QuietRules, parse_quiet_hours
from broadcast.storage.models import DEFAULT_COMMUNE, Commune, Zone

log = logging.getLogger(__name__)

DEFAULT_SPAN = "22:00-05:00"  # what the settings page offers first


@dataclass(frozen=True)
class CommuneQuiet:
    """A commune's quiet hours as its settings page shows them."""

    commune_id: str
    name: str
    own: str | None  # the commune's own setting ("" = none); None: the station's default applies
    default: QuietHours | None  # the station's BROADCAST_QUIET_HOURS
    quiet: QuietHours | None  # what is in force

    @property
    def start(self) -> str:
        return f"{self.quiet.start:%H:%M}" if self.quiet else DEFAULT_SPAN[:5]

    @property
    def end(self) -> str:
        return f"{self.quiet.end:%H:%M}" if self.quiet else DEFAULT_SPAN[6:]


def _parsed(commune_id: str, text: str | None, default: QuietHours | None) -> QuietHours | None:
    if text is None:
        return default
    try:
        return parse_quiet_hours(text)
    except ValueError:  # stored by hand: keep the default rather than break publishing
        log.warning("commune %s has unreadable quiet hours %r; using the station's", commune_id, text)
        return default


def rules(session: Session, default: QuietHours | None) -> QuietRules:
    """Return the quiet hours of every zone: its commune's own where set, else `default`."""
    rows = session.execute(
        select(Zone.id, Commune.id, Commune.quiet_hours)
        .join(Commune, Zone.commune_id == Commune.id)
        .where(Commune.quiet_hours.is_not(None))
    )
    return QuietRules(default, {zone: _parsed(commune, text, default) for zone, commune, text in rows})


def of_commune(session: Session, commune_id: str | None, default: QuietHours | None) -> CommuneQuiet:
    """Return a commune's quiet hours (a province account without one: the station's default)."""
    commune = session.get(Commune, commune_id or DEFAULT_COMMUNE)
    if commune is None:
        raise domain.NotFound(f"Không có xã {commune_id!r}.")
    own = commune.quiet_hours
    return CommuneQuiet(commune.id, commune.name, own, default, _parsed(commune.id, own, default))


def parse_span(enabled: bool, start: str, end: str) -> str:
    """Return the stored form of what the settings form says ("" = no quiet hours); refuse nonsense."""
    if not enabled:
        return ""
    text = f"{start.strip()}-{end.strip()}"
    try:
        quiet = parse_quiet_hours(text)
    except ValueError:
        quiet = None
    if quiet is None or quiet.start == quiet.end:
        raise domain.Invalid("Giờ yên tĩnh cần giờ bắt đầu và giờ kết thúc khác nhau, dạng 22:00 và 05:00.")
    return f"{quiet.start:%H:%M}-{quiet.end:%H:%M}"


def set_quiet_hours(session: Session, admin: Principal, commune_id: str, text: str, address: str) -> Commune:
    """Store a commune's own quiet hours ("" = none), audited; only an admin of that commune (or province)."""
    if admin.role != domain.Role.ADMIN:
        raise domain.Forbidden("Chỉ quản trị viên của xã mới được đổi giờ yên tĩnh.")
    if admin.commune is not None and admin.commune != commune_id:
        raise domain.Forbidden("Chỉ quản trị viên của xã này mới được đổi giờ yên tĩnh của xã.")
    commune = session.get(Commune, commune_id)
    if commune is None:
        raise domain.NotFound(f"Không có xã {commune_id!r}.")
    before = commune.quiet_hours
    if text:
        text = parse_span(True, *text.split("-", 1)) if "-" in text else parse_span(True, text, "")
    commune.quiet_hours = text
    target = f"commune:{commune.id}"
    audit.record(session, admin.name, "commune.quiet_hours", target, address, before=before, after=text)
    return commune
