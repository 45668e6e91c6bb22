"""Plan the programme: slots -> timed entries per zone, quiet hours and conflicts (pure functions)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Literal

from broadcast.scheduler.slots import SlotError, SlotRule, next_start, zone

ITEM_GAP_S = 2.0
"""Silence between the items of one slot (the chime of the next bulletin follows)."""
_RANK = {"emergency": 0, "priority": 1, "normal": 2}
_IDS = uuid.UUID("6f1d6a52-55d8-4a53-9a1e-4c6f61207861")  # namespace of programme entry ids


@dataclass(frozen=True)
class ItemSpec:
    """One item as the planner sees it; `ref` (clip sha256 or stream URL) is part of its identity."""

    item_id: int
    kind: Literal["bulletin", "stream"]
    duration_s: float
    priority: str
    position: int
    ref: str
    title: str = ""
    size: int = 0  # clip bytes (bulletins)
    bulletin_id: int | None = None


@dataclass(frozen=True)
class SlotPlan:
    slot_id: int
    rule: SlotRule
    zones: tuple[str, ...]
    items: tuple[ItemSpec, ...]


@dataclass(frozen=True)
class Entry:
    """One item of one occurrence of a slot, at its own absolute start."""

    slot_id: int
    item: ItemSpec
    occurrence: datetime
    start: datetime
    zones: tuple[str, ...]

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.item.duration_s)

    @property
    def command_id(self) -> str:
        """Return an id stable across re-planning, so agents see an unchanged entry as a duplicate."""
        key = f"{self.slot_id}:{self.item.item_id}:{self.item.ref}:{self.start.isoformat()}"
        return str(uuid.uuid5(_IDS, key))


def ordered(items: Iterable[ItemSpec]) -> list[ItemSpec]:
    """Return items in playing order: priority level first (Thông tư 39), then the staff's order."""
    return sorted(items, key=lambda i: (_RANK.get(i.priority, 2), i.position))


def slot_length_s(items: Sequence[ItemSpec]) -> float:
    """Return how long one occurrence of a slot lasts."""
    if not items:
        return 0.0
    return sum(i.duration_s for i in items) + ITEM_GAP_S * (len(items) - 1)


def occurrences(rule: SlotRule, start: datetime, end: datetime, tz: str) -> list[datetime]:
    """Return the rule's starts in [start, end)."""
    found: list[datetime] = []
    cursor = start - timedelta(microseconds=1)
    while (moment := next_start(rule, cursor, tz)) is not None and moment < end:
        found.append(moment)
        if rule.start_at is not None:
            break
        cursor = moment
    return found


def plan(slots: Iterable[SlotPlan], start: datetime, end: datetime, tz: str) -> list[Entry]:
    """Return every entry starting in [start, end) (occurrences that began earlier keep their later items)."""
    entries: list[Entry] = []
    for slot in slots:
        length = slot_length_s(slot.items)
        for occurrence in occurrences(slot.rule, start - timedelta(seconds=length), end, tz):
            offset = 0.0
            for item in ordered(slot.items):
                at = occurrence + timedelta(seconds=offset)
                if start <= at < end:
                    entries.append(Entry(slot.slot_id, item, occurrence, at, slot.zones))
                offset += item.duration_s + ITEM_GAP_S
    return sorted(entries, key=lambda e: (e.start, e.slot_id))


@dataclass(frozen=True)
class QuietHours:
    """A nightly span when only emergencies may play (a wrong relay time once woke a commune at 3:15)."""

    start: time
    end: time

    def covers(self, moment: datetime, tz: str) -> bool:
        """Return True if `moment` falls in the quiet span (which may cross midnight)."""
        local = moment.astimezone(zone(tz)).time()
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def label(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


@dataclass(frozen=True)
class QuietRules:
    """Quiet hours per zone: its commune's own where the commune set them, else the station's default."""

    default: QuietHours | None = None
    zones: Mapping[str, QuietHours | None] = field(default_factory=dict)  # only communes with their own

    def of_zone(self, zone_id: str) -> QuietHours | None:
        return self.zones.get(zone_id, self.default)

    def quiet_zones(self, slot: SlotPlan, occurrence: datetime, tz: str) -> set[str]:
        """Return the zones of the slot whose quiet hours this occurrence touches (it is not sent there)."""
        verdicts: dict[QuietHours | None, bool] = {}  # zones share a few spans: check each span once
        found: set[str] = set()
        for zone_id in slot.zones:
            span = self.of_zone(zone_id)
            if span not in verdicts:
                verdicts[span] = in_quiet_hours(slot, occurrence, span, tz)
            if verdicts[span]:
                found.add(zone_id)
        return found

    def silenced(self, slot: SlotPlan, occurrence: datetime, tz: str) -> bool:
        """Return True if the occurrence is held back in at least one of the slot's zones."""
        return bool(self.quiet_zones(slot, occurrence, tz))

    def spans(self, zones: Iterable[str]) -> list[QuietHours]:
        """Return the distinct quiet spans in force in these zones (none where a commune has none)."""
        found: list[QuietHours] = []
        for zone_id in zones:
            if (quiet := self.of_zone(zone_id)) is not None and quiet not in found:
                found.append(quiet)
        return found


def as_rules(quiet: QuietHours | QuietRules | None) -> QuietRules:
    """Return quiet rules; one span (or None) applies the same everywhere."""
    return quiet if isinstance(quiet, QuietRules) else QuietRules(quiet)


def parse_quiet_hours(text: str) -> QuietHours | None:
    """Parse "22:00-05:00" (empty = no quiet hours)."""
    if not text.strip():
        return None
    try:
        first, second = (part.strip() for part in text.replace("–", "-").split("-"))
        return QuietHours(time.fromisoformat(first), time.fromisoformat(second))
    except ValueError as exc:
        raise ValueError(f"quiet hours must look like 22:00-05:00, got {text!r}") from exc


QUIET_HOW_TO = (
    "Hãy chọn giờ khác, hoặc nhờ quản trị viên của xã đổi hay tắt giờ yên tĩnh (Quản trị → Cài đặt xã)."
)


def check_quiet_hours(
    slot: SlotPlan, quiet: QuietHours | QuietRules | None, tz: str, now: datetime, days: int = 8
) -> None:
    """Raise SlotError if any occurrence in the next `days` plays during quiet hours (of any of its zones)."""
    rules = as_rules(quiet)
    for occurrence in occurrences(slot.rule, now, now + timedelta(days=days), tz):
        for span in rules.spans(slot.zones or ("",)):
            if in_quiet_hours(slot, occurrence, span, tz):
                local = occurrence.astimezone(zone(tz))
                raise SlotError(
                    f"Lịch phát lúc {local:%H:%M %d/%m} rơi vào giờ yên tĩnh ban đêm ({span.label()}): "
                    f"trong giờ này chỉ cảnh báo khẩn cấp mới được phát. {QUIET_HOW_TO}"
                )


def in_quiet_hours(slot: SlotPlan, occurrence: datetime, quiet: QuietHours | None, tz: str) -> bool:
    """Return True if any minute of this occurrence of the slot falls in quiet hours."""
    if quiet is None:
        return False
    moment, finish = occurrence, occurrence + timedelta(seconds=slot_length_s(slot.items))
    while moment <= finish:
        if quiet.covers(moment, tz):
            return True
        moment += timedelta(minutes=1)
    return False


def conflicts(
    new: SlotPlan, others: Iterable[SlotPlan], tz: str, now: datetime, days: int = 8
) -> list[tuple[int, datetime]]:
    """Return (other slot id, its start) for each occurrence overlapping `new` in a shared zone."""
    horizon = now + timedelta(days=days)
    mine = [
        (o, o + timedelta(seconds=slot_length_s(new.items))) for o in occurrences(new.rule, now, horizon, tz)
    ]
    clashes: list[tuple[int, datetime]] = []
    for other in others:
        if other.slot_id == new.slot_id or not set(other.zones) & set(new.zones):
            continue
        length = timedelta(seconds=slot_length_s(other.items))
        for start in occurrences(other.rule, now, horizon, tz):
            if any(start < end and begin < start + length for begin, end in mine):
                clashes.append((other.slot_id, start))
                break
    return clashes
