"""Device availability and uptime over a period, from what the station can prove (pure).

Availability ("có mặt khi cần phát"): of the programme items and alerts that were due on a cluster —
addressed to its zone, starting inside the period, after it was enrolled and before it was revoked, long
enough ago for its report to have arrived — the share the cluster answered (played, skipped, refused or
acknowledged). A cluster that answers was powered, connected and running its agent when it mattered.

Uptime ("thời gian trực tuyến"): heartbeats received / heartbeats expected while the cluster was enrolled
in the period. Agents send one every HEARTBEAT_INTERVAL_S, or at the interval the station set for the
device (devices.settings, sent by config command); the station counts them per hour (at most one hour's
worth in any hour, see fleet/presence.py), so the figure is the share of time the agent was up and its
link worked, capped at 100 %. The interval in force now is used for the whole period: after a change the
figure for the time before it is scaled, and an interval set only in a device's agent.toml is not known.
A programme entry that was re-timed or removed less than the programme window (48 h) before it was due,
and that no cluster answered, may still count as due; items nobody answered are only counted while their
slot still holds the bulletin, which keeps most such edits out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

REPORT_GRACE = timedelta(minutes=10)
"""A play report arrives when the item ends; this much later, silence counts as a miss."""

HEARTBEAT_INTERVAL_S = 30.0
"""The agents' heartbeat interval (edge_agent/config.py DEFAULT_HEARTBEAT_S; a test keeps them equal)."""


def configured_interval(settings: Mapping[str, object] | None) -> float | None:
    """Return the heartbeat interval the station set for a device (devices.settings), if it set one."""
    value = (settings or {}).get("heartbeat_interval_s")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


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


def heartbeats_per_hour(interval_s: float = HEARTBEAT_INTERVAL_S) -> int:
    """Return how many heartbeats an agent up for a whole hour sends (the most counted in one hour)."""
    return max(1, round(3600 / interval_s))


@dataclass(frozen=True)
class Uptime:
    device_id: str
    seen: int  # heartbeats received (at most one hour's worth counted in any hour)
    expected: float  # heartbeats an agent up all the time would have sent

    @property
    def ratio(self) -> float | None:
        """Return seen / expected capped at 1, or None while less than one heartbeat was due."""
        return min(1.0, self.seen / self.expected) if self.expected >= 1 else None

    @property
    def percent_text(self) -> str:
        """Return the share the Vietnamese way ("99,8%"), rounded down so that 100% means no gap."""
        ratio = self.ratio
        if ratio is None:
            return "—"
        tenths = int(ratio * 1000 + 1e-9)  # 0.998 -> 998 (the epsilon undoes float error, not a rounding)
        whole, tenth = divmod(tenths, 10)
        return f"{whole}%" if tenth == 0 else f"{whole},{tenth}%"


def expected_heartbeats(
    device: Enrolment,
    since: datetime,
    until: datetime,
    now: datetime,
    interval_s: float = HEARTBEAT_INTERVAL_S,
    counted_since: datetime | None = None,
) -> float:
    """Return how many heartbeats were due from the device in [since, until): only while it was enrolled
    (and not revoked), only since the station began counting, and not the one still due now."""
    start = max(since, device.enrolled_at, counted_since or since)
    ends = [until, now - timedelta(seconds=interval_s)]  # the next heartbeat is not late before then
    if device.revoked_at is not None:
        ends.append(device.revoked_at)
    return max(0.0, (min(ends) - start).total_seconds() / interval_s)


def uptime(
    devices: Iterable[Enrolment],
    seen: dict[str, int],
    since: datetime,
    until: datetime,
    now: datetime,
    interval_s: float = HEARTBEAT_INTERVAL_S,
    counted_since: datetime | None = None,
    intervals: Mapping[str, float] | None = None,
) -> dict[str, Uptime]:
    """Return each device's uptime in [since, until) from the heartbeats `seen` of it (by device id);
    `intervals` holds the heartbeat interval of devices that do not use `interval_s`."""
    other = intervals or {}
    return {
        d.device_id: Uptime(
            d.device_id,
            seen.get(d.device_id, 0),
            expected_heartbeats(d, since, until, now, other.get(d.device_id, interval_s), counted_since),
        )
        for d in devices
    }


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
