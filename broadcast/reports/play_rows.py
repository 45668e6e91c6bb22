"""Plays as an officer reads them: what played (a bulletin's title, an alert's first words, a live session,
a test tone, a relayed stream), how urgent, the outcome and the reason in Vietnamese.

Every page that lists plays turns them into rows here (`rows`), and the device pages name the command on
the air the same way (`describe_command`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from broadcast import domain
from broadcast.fleet import refusal_text
from broadcast.people.audit_text import short
from broadcast.reports.play_log import OUTCOME_LABELS
from broadcast.storage.models import Alert, Bulletin, Command, LiveSession, Play

__all__ = [
    "PlayRow",
    "What",
    "bulletin_titles",
    "describe_command",
    "describe_commands",
    "reason_text",
    "rows",
    "short",
]

ALERT_KINDS = ("alert", "alert_speech", "cancel")
EMERGENCY = domain.PRIORITY_LABELS["emergency"]


@dataclass(frozen=True)
class What:
    """What a command played, for the officer: its label, a page about it (or None), its urgency."""

    label: str
    link: str | None
    priority: str  # Vietnamese: Thường, Ưu tiên, Khẩn cấp, Trực tiếp


@dataclass(frozen=True)
class PlayRow:
    device_id: str
    at: datetime
    what: What
    duration_s: float
    outcome: str  # Vietnamese
    reason: str  # Vietnamese


def _alert_label(alert: Alert, kind: str) -> str:
    lead = "Cảnh báo thử nghiệm" if alert.test else "Cảnh báo khẩn cấp"
    if kind == "cancel":
        lead = f"Huỷ {lead[0].lower()}{lead[1:]}"
    return f"{lead}: «{short(alert.text)}»"


def _payload(command: Command) -> dict[str, object]:
    try:
        body = json.loads(command.payload)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _from_command(command: Command, titles: dict[int, str], alerts: dict[str, tuple[Alert, str]]) -> What:
    body = _payload(command)
    kind = str(body.get("kind") or command.kind)
    if command.id in alerts:
        alert, alert_kind = alerts[command.id]
        return What(_alert_label(alert, alert_kind), f"/alerts/{alert.id}", EMERGENCY)
    priority = domain.PRIORITY_LABELS.get(
        str(body.get("priority") or "normal"), domain.PRIORITY_LABELS["normal"]
    )
    if command.bulletin_id is not None:
        title = titles.get(command.bulletin_id) or str(body.get("title") or "") or "(bản tin đã xoá)"
        return What(title, f"/bulletins/{command.bulletin_id}", priority)
    title = str(body.get("title") or "")
    if kind == "stream":
        return What(f"Tiếp sóng «{title}»" if title else "Tiếp sóng đài", None, priority)
    if kind == "test_tone":
        return What("Âm thử", None, priority)
    if kind == "volume":
        return What("Đặt âm lượng", None, priority)
    if kind == "config":
        return What("Gửi cài đặt cụm loa", None, priority)
    if kind in ("live_start", "live_stop"):
        return What("Phát trực tiếp", "/live", "Trực tiếp")
    if kind in ALERT_KINDS:
        return What("Cảnh báo khẩn cấp", None, EMERGENCY)
    return What(title or "Lệnh của trạm", None, priority)


def bulletin_titles(session: Session, bulletin_ids: Iterable[int]) -> dict[int, str]:
    """Return the titles of these bulletins (missing ones left out)."""
    wanted = sorted(set(bulletin_ids))
    if not wanted:
        return {}
    query = select(Bulletin.id, Bulletin.title).where(Bulletin.id.in_(wanted))
    return {row.id: row.title for row in session.execute(query)}


def describe_commands(session: Session, command_ids: Iterable[str]) -> dict[str, What]:
    """Return what each command id played (ids the station never issued are left out)."""
    wanted = sorted(set(command_ids))
    found: dict[str, What] = {}
    live_ids = [i for i in wanted if i.startswith("live-")]
    for live in session.scalars(select(LiveSession).where(LiveSession.id.in_(live_ids))) if live_ids else ():
        label = f"Phát trực tiếp «{live.title}»" if live.title else "Phát trực tiếp"
        found[live.id] = What(label, "/live", "Trực tiếp")
    others = [i for i in wanted if i not in found]
    if not others:
        return found
    commands = list(session.scalars(select(Command).where(Command.id.in_(others))))
    bulletin_ids = {c.bulletin_id for c in commands if c.bulletin_id is not None}
    titles = bulletin_titles(session, bulletin_ids)
    alerts: dict[str, tuple[Alert, str]] = {}
    alert_ids = [c.id for c in commands if c.kind in ALERT_KINDS]
    if alert_ids:
        query = select(Alert).where(
            or_(
                Alert.command_id.in_(alert_ids),
                Alert.speech_command_id.in_(alert_ids),
                Alert.cancel_command_id.in_(alert_ids),
            )
        )
        for alert in session.scalars(query):
            for command_id, kind in (
                (alert.command_id, "alert"),
                (alert.speech_command_id, "alert_speech"),
                (alert.cancel_command_id, "cancel"),
            ):
                if command_id:
                    alerts[command_id] = (alert, kind)
    for command in commands:
        found[command.id] = _from_command(command, titles, alerts)
    return found


def describe_command(session: Session, command_id: str | None) -> What | None:
    """Return what one command plays (e.g. a device's "now playing"), None for no or an unknown command."""
    if not command_id:
        return None
    return describe_commands(session, [command_id]).get(command_id)


UNKNOWN = What("Lệnh không rõ (trạm không gửi lệnh này)", None, "—")
_COMMAND_ID = re.compile(r"^(live-)?[0-9a-f-]{20,64}$", re.IGNORECASE)


def on_air(known: dict[str, What], reported: object) -> What | None:
    """Return what a heartbeat's `now_playing` names: the command it reports (looked up in `known`), an
    older agent's free text as sent, or UNKNOWN for an id the station never issued (never a raw UUID)."""
    if not isinstance(reported, str) or not reported.strip():
        return None
    if reported in known:
        return known[reported]
    return UNKNOWN if _COMMAND_ID.match(reported) else What(reported[:200], None, "")


def reason_text(outcome: str, reason: str) -> str:
    """Return a play's note in Vietnamese (a refusal's reason in words; other notes are the station's)."""
    return refusal_text.describe(reason) if outcome == "rejected" else reason


def rows(session: Session, plays: Sequence[Play]) -> list[PlayRow]:
    """Return plays as display rows, in the same order."""
    known = describe_commands(session, (p.command_id for p in plays))
    shown: list[PlayRow] = []
    for p in plays:
        what = known.get(p.command_id, UNKNOWN)
        reason = reason_text(p.outcome, p.reason)
        shown.append(
            PlayRow(
                device_id=p.device_id,
                at=p.started_at or p.reported_at,
                what=what,
                duration_s=p.duration_s,
                outcome=OUTCOME_LABELS.get(p.outcome, p.outcome),
                reason=reason,
            )
        )
    return shown
