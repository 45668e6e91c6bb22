"""What the home page shows, made from data the domain returns: pure functions, no database, no HTTP.

home_pages.py asks the domain (live sessions, devices, the planned programme, alerts, bulletins) and hands the
results here; these functions pick, order and word them for the officer (Vietnamese).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from broadcast.scheduler.planner import Entry

NEXT_TODAY = 5  # programme entries listed under "Sắp phát hôm nay"


@dataclass(frozen=True)
class OnAirRow:
    """Something audible now in a zone: a live session, or what a loudspeaker reports playing."""

    zone: str  # display name(s)
    what: str
    detail: str = ""
    link: str = ""


@dataclass(frozen=True)
class NextRow:
    at: str  # HH:MM local
    title: str
    zones: str
    kind: str  # "Bản tin" | "Tiếp sóng"
    link: str = ""


def zone_label(zone_ids: Iterable[str], names: Mapping[str, str]) -> str:
    """Return zones by their names (the id when a zone has none); no zones means every zone."""
    shown = [names.get(z) or z for z in zone_ids]
    return ", ".join(shown) if shown else "Mọi vùng"


def on_air(
    live: Iterable[Any],
    devices: Iterable[Any],
    names: Mapping[str, str],
    active: Sequence[str],
    playing: Mapping[str, Any],
) -> list[OnAirRow]:
    """Return live sessions on air (status in `active`) and what online loudspeakers report playing.

    `playing` maps a device id to what its heartbeat's `now_playing` names (reports.play_rows.What: a label
    and a link), so a command id is never shown raw.
    """
    rows = [
        OnAirRow(
            zone=zone_label(s.zones, names),
            what=f"Phát trực tiếp «{s.title}»" if s.title else "Phát trực tiếp",
            detail=f"{s.status_label} — {s.devices_joined} loa đang phát",
            link="/live",
        )
        for s in live
        if s.status in active
    ]
    for device in devices:
        what = playing.get(device.id)
        if device.online and what is not None:
            rows.append(
                OnAirRow(
                    zone=zone_label([device.zone], names),
                    what=what.label,
                    detail=f"cụm loa {device.id}",
                    link=what.link or f"/devices/{device.id}",
                )
            )
    return rows


def next_today(
    entries: Iterable[Entry], now: datetime, tz: tzinfo, names: Mapping[str, str], limit: int = NEXT_TODAY
) -> list[NextRow]:
    """Return the next `limit` entries starting from now until local midnight, in start order."""
    local_now = now.astimezone(tz)
    midnight = (local_now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    rows: list[NextRow] = []
    for entry in sorted(entries, key=lambda e: (e.start, e.slot_id)):
        if entry.start < now or entry.start.astimezone(tz) >= midnight:
            continue
        item = entry.item
        link = f"/bulletins/{item.bulletin_id}" if item.bulletin_id is not None else ""
        title = item.title or ("Tiếp sóng" if item.kind == "stream" else "Bản tin")
        kind = "Tiếp sóng" if item.kind == "stream" else "Bản tin"
        rows.append(
            NextRow(f"{entry.start.astimezone(tz):%H:%M}", title, zone_label(entry.zones, names), kind, link)
        )
        if len(rows) == limit:
            break
    return rows


def local_time(moment: datetime, tz: tzinfo) -> str:
    """Return "HH:MM dd/mm" in the station's time zone (a naive time from the database is UTC)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return f"{aware.astimezone(tz):%H:%M %d/%m}"


@dataclass(frozen=True)
class BackupLine:
    """The admin's one line about backups: how the last one went, and whether it needs attention."""

    text: str
    warn: bool


def size_text(size_bytes: int) -> str:
    """Return a size as an officer reads it: "12,3 MB", "850 kB"."""
    if size_bytes >= 1_000_000:
        return f"{size_bytes / 1_000_000:.1f} MB".replace(".", ",")
    return f"{max(1, round(size_bytes / 1000))} kB"


def backup_line(runs: Sequence[Any], destination: str, tz: tzinfo, now: datetime) -> BackupLine:
    """Return the backup status for the admin's desk from the latest backup runs (newest first).

    Warns when the newest run failed, when no backup succeeded for two days, or when none is set up.
    """
    done = next((r for r in runs if r.status == "done"), None)
    if not destination and done is None:
        return BackupLine("Chưa đặt sao lưu tự động: khi ổ cứng hỏng sẽ mất hết dữ liệu và khoá.", True)
    if runs and runs[0].status == "running":
        return BackupLine(f"Đang sao lưu (bắt đầu lúc {local_time(runs[0].started_at, tz)}).", False)
    if runs and runs[0].status == "failed":
        return BackupLine(
            f"Lần sao lưu lúc {local_time(runs[0].started_at, tz)} không thành công: {runs[0].message}", True
        )
    if done is None or done.finished_at is None:
        return BackupLine("Chưa có bản sao lưu nào.", True)
    where = done.result.get("destination") or destination
    text = (
        f"Sao lưu gần nhất lúc {local_time(done.finished_at, tz)}, {size_text(done.size_bytes)}, vào {where}."
    )
    finished = done.finished_at if done.finished_at.tzinfo else done.finished_at.replace(tzinfo=UTC)
    stale = now - finished > timedelta(days=2)
    return BackupLine(text + (" Đã hơn hai ngày chưa sao lưu." if stale else ""), stale)
