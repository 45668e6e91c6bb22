"""A bulletin's history: every step written to bulletin_events, and a short summary of text edits."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcast.storage.models import BulletinEvent

MAX_CHANGES = 8  # changed passages kept per edit: enough to see what moved, small enough to store
MAX_SNIPPET = 160  # characters kept of one changed passage


class Action(StrEnum):
    CREATED = "created"
    IMPORTED = "imported"
    UPLOADED = "uploaded"
    EDITED = "edited"
    RERENDERED = "rerendered"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    SCHEDULED = "scheduled"


ACTION_LABELS: dict[str, str] = {
    Action.CREATED: "Soạn bản tin",
    Action.IMPORTED: "Nhập từ tệp",
    Action.UPLOADED: "Tải bản ghi âm lên",
    Action.EDITED: "Sửa bản tin",
    Action.RERENDERED: "Đọc lại",
    Action.SUBMITTED: "Gửi duyệt lại",
    Action.APPROVED: "Duyệt",
    Action.REJECTED: "Trả lại",
    Action.SCHEDULED: "Đã xếp lịch phát",
}
FIELD_LABELS = {
    "title": "tiêu đề",
    "text": "nội dung",
    "priority": "mức ưu tiên",
    "zones": "vùng phát",
    "engine": "bộ đọc",
    "voice": "giọng",
    "audio": "âm thanh",
}


@dataclass(frozen=True)
class Change:
    """One changed passage of a text: what was there and what replaced it ("" for none)."""

    old: str
    new: str


def _clip(words: list[str]) -> str:
    text = " ".join(words)
    return text if len(text) <= MAX_SNIPPET else text[: MAX_SNIPPET - 1].rstrip() + "…"


def text_changes(old: str, new: str) -> tuple[list[Change], int]:
    """Return the changed passages between two texts, word by word, and how many passages changed."""
    before, after = old.split(), new.split()
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    changes = [
        Change(_clip(before[i1:i2]), _clip(after[j1:j2]))
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]
    return changes[:MAX_CHANGES], len(changes)


def edit_detail(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Return the stored detail of an edit: the fields changed and, for the text, the changed passages."""
    fields = [name for name in after if before.get(name) != after[name]]
    detail: dict[str, Any] = {"fields": fields}
    if "text" in fields:
        changes, total = text_changes(str(before.get("text", "")), str(after["text"]))
        detail["text_changes"] = [{"old": c.old, "new": c.new} for c in changes]
        detail["text_changes_total"] = total
    if "title" in fields:
        detail["title"] = {"old": before.get("title"), "new": after["title"]}
    return detail


def describe(action: str, detail: dict[str, Any]) -> str:
    """Return one Vietnamese line for a history entry (the timeline's headline)."""
    label = ACTION_LABELS.get(action, action)
    if action == Action.CREATED and detail.get("draft"):
        return "Lưu nháp"
    if action == Action.SUBMITTED and detail.get("first"):
        return "Gửi duyệt"
    if action == Action.SCHEDULED:
        return scheduled_line(detail)
    if action == Action.EDITED and detail.get("fields"):
        names = ", ".join(FIELD_LABELS.get(f, f) for f in detail["fields"])
        return f"{label}: đổi {names}"
    if action == Action.REJECTED and detail.get("reason"):
        return f"{label}: {detail['reason']}"
    if action == Action.UPLOADED and detail.get("filename"):
        return f"{label}: {detail['filename']} ({float(detail.get('duration_s', 0)):.0f} giây)"
    if action == Action.APPROVED and detail.get("version"):
        return f"{label} phiên bản {str(detail['version'])[:8]}" + (
            "" if detail.get("reviewed") else " (không ghi bản đã nghe)"
        )
    if action == Action.RERENDERED:
        return f"{label}: " + ("âm thanh đã thay đổi" if detail.get("changed") else "âm thanh không đổi")
    return label


def scheduled_line(detail: dict[str, Any]) -> str:
    """Return the history line of a scheduling: when it plays, for which zones, and when first."""
    line = f"{ACTION_LABELS[Action.SCHEDULED]} {detail.get('when', '')}".rstrip()
    if detail.get("zones"):
        line += f" cho {', '.join(str(z) for z in detail['zones'])}"
    if detail.get("next"):
        line += f" (lần phát tới: {detail['next']})"
    return line


def record(session: Session, bulletin_id: int, actor: str, action: Action, **detail: Any) -> None:
    """Add a history entry in the caller's transaction (it commits or rolls back with the change)."""
    session.add(BulletinEvent(bulletin_id=bulletin_id, actor=actor, action=action.value, detail=detail))


@dataclass(frozen=True)
class HistoryEntry:
    """A history entry as pages and the API show it."""

    at: datetime
    actor: str
    action: str
    summary: str
    detail: dict[str, Any]


def history(session: Session, bulletin_id: int) -> list[HistoryEntry]:
    """Return the bulletin's history, oldest first."""
    events = session.scalars(
        select(BulletinEvent)
        .where(BulletinEvent.bulletin_id == bulletin_id)
        .order_by(BulletinEvent.at, BulletinEvent.id)
    )
    return [
        HistoryEntry(e.at, e.actor, e.action, describe(e.action, e.detail or {}), dict(e.detail or {}))
        for e in events
    ]
