"""Device availability over a period, from what the station can prove (pure).

Definition ("có mặt khi cần phát"): of the programme items and alerts that were due on a cluster — addressed
to its zone, starting inside the period, after it was enrolled and before it was revoked, long enough ago
for its report to have arrived — the share the cluster answered (played, skipped, refused or acknowledged).
A cluster that answers was powered, connected and running its agent when it mattered, which is what an
officer needs to know about a loudspeaker.

What it is not: the share of time online. The station keeps only the last heartbeat of each device, not a
history of them; heartbeat-based uptime needs a presence table (heartbeats per device per hour) that the
schema does not have yet.
A programme entry that was re-timed or removed less than the programme window (48 h) before it was due,
and that no cluster answered, may still count as due; items nobody answered are only counted while their
slot still holds the bulletin, which keeps most such edits out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

REPORT_GRACE = timedelta(minutes=10)
"""A play report arrives when the item ends; this much later, silence counts as a miss."""


@dataclass(frozen=True)
class Enrolment:
    """A device's life on the station (the zone it serves, when it was added and revoked)."""

    device_id: str
    zone: str
    enrolled_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class Due:
    """A command sent to zones that every device of those zones should have answered."""

    command_id: str
    zones: tuple[str, ...]
    start_at: datetime
    kind: str  # bulletin | stream | alert
    still_planned: bool = True  # its slot is active and still holds the item (alerts: always True)
    duration_s: float = 0.0  # how long it plays (its report comes after)

    def answerable(self, now: datetime, grace: timedelta = REPORT_GRACE) -> bool:
        """Return True once its report must have arrived (it ended, plus a grace for the link)."""
        return self.start_at + timedelta(seconds=self.duration_s) + grace <= now


@dataclass(frozen=True)
class Availability:
    device_id: str
    zone: str
    due: int
    answered: int

    @property
    def ratio(self) -> float | None:
        """Return answered / due, or None when nothing was due (no evidence either way)."""
        return self.answered / self.due if self.due else None

    @property
    def missed(self) -> int:
        return self.due - self.answered

    @property
    def percent_text(self) -> str:
        ratio = self.ratio
        return "—" if ratio is None else f"{ratio * 100:.0f}%"


def counts(due: Due, answered_by_anyone: bool) -> bool:
    """Return True if a command is evidence-worthy: an alert, still planned, or answered by some device."""
    return due.kind == "alert" or due.still_planned or answered_by_anyone


def availability(
    devices: Iterable[Enrolment],
    commands: Iterable[Due],
    answered: set[tuple[str, str]],
    since: datetime,
    until: datetime,
    now: datetime,
    heard: set[str] | None = None,
) -> list[Availability]:
    """Return each device's due and answered counts for commands starting in [since, until) that are
    answerable by `now`; `answered` holds (device id, command id) of the reports received, `heard` the
    commands any device at all reported on (default: those in `answered`)."""
    anyone = heard if heard is not None else {command_id for _, command_id in answered}
    relevant = [
        c
        for c in commands
        if since <= c.start_at < until and c.answerable(now) and counts(c, c.command_id in anyone)
    ]
    by_zone: dict[str, list[Due]] = {}
    for c in relevant:
        for zone in set(c.zones):
            by_zone.setdefault(zone, []).append(c)
    result: list[Availability] = []
    for d in sorted(devices, key=lambda d: (d.zone, d.device_id)):
        due = [
            c
            for c in by_zone.get(d.zone, [])
            if c.start_at >= d.enrolled_at and (d.revoked_at is None or c.start_at < d.revoked_at)
        ]
        got = sum(1 for c in due if (d.device_id, c.command_id) in answered)
        result.append(Availability(d.device_id, d.zone, len(due), got))
    return result


def describe_duration(seconds: float | None) -> str:
    """Return a duration the way an officer says it: "3 ngày 4 giờ", "25 phút", "40 giây"."""
    if seconds is None or seconds < 0:
        return "—"
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} ngày {hours} giờ" if hours else f"{days} ngày"
    if hours:
        return f"{hours} giờ {minutes} phút" if minutes else f"{hours} giờ"
    if minutes:
        return f"{minutes} phút"
    return f"{secs} giây"
