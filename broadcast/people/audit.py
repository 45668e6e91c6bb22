"""Audit log: who did what, to what, from where — recorded with each change, read back by admins."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, func, literal, or_, select
from sqlalchemy.orm import Session

from broadcast import csv_export
from broadcast.people import audit_text
from broadcast.storage.models import AuditEntry, Device, User, Zone

MAX_PAGE = 500


def record(
    session: Session, actor: str, action: str, target: str = "", address: str = "", **detail: Any
) -> None:
    """Add an audit entry in the caller's transaction (so it commits or rolls back with the change)."""
    session.add(
        AuditEntry(
            actor=actor[:64], action=action[:64], target=target[:128], address=address[:64], detail=detail
        )
    )


@dataclass(frozen=True)
class AuditFilter:
    """What an admin looks for; empty fields match everything."""

    actor: str = ""
    action: str = ""  # exact ("bulletin.approve") or a family ("bulletin" matches "bulletin.*")
    target: str = ""  # exact ("bulletin:5") or a prefix ending in ":" ("bulletin:")
    since: datetime | None = None
    until: datetime | None = None  # exclusive
    # A commune admin sees what their commune's accounts did and what befell its devices.
    commune: str | None = None


def _where(query: Select[Any], f: AuditFilter) -> Select[Any]:
    if f.actor:
        query = query.where(AuditEntry.actor == f.actor)
    if f.action:
        query = query.where(or_(AuditEntry.action == f.action, AuditEntry.action.startswith(f"{f.action}.")))
    if f.target:
        target = (
            AuditEntry.target.startswith(f.target)
            if f.target.endswith(":")
            else AuditEntry.target == f.target
        )
        query = query.where(target)
    if f.commune is not None:
        # What the commune's accounts did, what happened to its devices (e.g. the station flagging
        # one for flooding reports: actor "station", target "device:<id>"), and restores of the
        # station itself (target "backup:<id>"): they touch every commune's data.
        zones = select(Zone.id).where(Zone.commune_id == f.commune)
        devices = select(literal("device:") + Device.id).where(Device.zone.in_(zones))
        query = query.where(
            or_(
                AuditEntry.actor.in_(select(User.name).where(User.commune_id == f.commune)),
                AuditEntry.target.in_(devices),
                and_(AuditEntry.action == "backup.restore", AuditEntry.target.startswith("backup:")),
            )
        )
    if f.since is not None:
        query = query.where(AuditEntry.at >= f.since)
    if f.until is not None:
        query = query.where(AuditEntry.at < f.until)
    return query


def search(
    session: Session, f: AuditFilter, offset: int = 0, limit: int = 100
) -> tuple[list[AuditEntry], int]:
    """Return one page of matching entries, newest first, and how many match in all."""
    total = session.scalar(_where(select(func.count()).select_from(AuditEntry), f)) or 0
    page = (
        _where(select(AuditEntry), f)
        .order_by(AuditEntry.id.desc())
        .offset(offset)
        .limit(min(limit, MAX_PAGE))
    )
    return list(session.scalars(page)), total


def all_matching(session: Session, f: AuditFilter, limit: int = 100_000) -> list[AuditEntry]:
    """Return every matching entry (for export), newest first."""
    return list(session.scalars(_where(select(AuditEntry), f).order_by(AuditEntry.id.desc()).limit(limit)))


def actions(session: Session) -> list[str]:
    """Return the actions recorded so far (for the viewer's filter list)."""
    return list(session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))


def to_csv(entries: Sequence[AuditEntry], tz: str, sentences: Sequence[str] = ()) -> str:
    """Return entries as CSV: raw action and detail for tools, and the sentence an admin reads (last).

    Failed logins' actor names are typed by strangers, so cells are neutralised.
    """
    zone = ZoneInfo(tz)
    header = ["Thời điểm", "Người thực hiện", "Thao tác", "Đối tượng", "Địa chỉ", "Chi tiết", "Nội dung"]
    said = list(sentences) or [""] * len(entries)
    return csv_export.to_csv(
        header,
        (
            [
                e.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
                e.actor,
                e.action,
                e.target,
                e.address,
                json.dumps(e.detail or {}, ensure_ascii=False, sort_keys=True),
                text,
            ]
            for e, text in zip(entries, said, strict=True)
        ),
    )


def export_csv(session: Session, f: AuditFilter, tz: str) -> str:
    """Return every matching entry as CSV, each with its sentence."""
    entries = all_matching(session, f)
    return to_csv(entries, tz, audit_text.sentences(session, entries))
