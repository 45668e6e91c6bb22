"""Live sessions in the database: who may go live, opening and closing the record, and what it shows.

The proof that a loudspeaker carried a session is its play report: agents report a live play with the
clip hash `live_sha256(session_id)`, so the joined devices are read from the play log like any other play.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcast import domain
from broadcast.people import audit, tenancy
from broadcast.people.accounts import Principal
from broadcast.storage.models import Alert, Clip, Device, LiveSession, Play

ACTIVE = ("starting", "on_air")
END_REASONS = {
    "stopped": "Người phát bấm dừng",
    "dropped": "Mất kết nối với máy của người phát",
    "too_long": "Quá thời lượng tối đa",
    "engine": "Máy chủ phát trực tiếp gặp lỗi",
    "shutdown": "Trạm dừng hoạt động",
}
ALERT_NOTE = "Cảnh báo khẩn cấp đang phát: loa tạm ngừng phát trực tiếp và sẽ nối lại sau cảnh báo."
STATUS_LABELS = {"starting": "Đang phát chuông báo", "on_air": "Đang phát trực tiếp", "ended": "Đã kết thúc"}


class LiveRefused(domain.DomainError):
    """A live session that cannot start or stop; the message is for the officer (Vietnamese)."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


@dataclass(frozen=True)
class LiveView:
    """A live session as pages and the API show it."""

    id: str
    status: str
    title: str
    zones: list[str]
    channel: int
    started_by: str
    started_at: datetime
    on_air_at: datetime | None
    ended_at: datetime | None
    end_reason: str
    devices: list[str]  # the loudspeakers that reported playing it
    audio_s: float
    archive_sha256: str | None

    @property
    def devices_joined(self) -> int:
        return len(self.devices)

    @property
    def ws_path(self) -> str:
        return f"/api/live/{self.id}/audio"

    @property
    def audio_url(self) -> str:
        return f"/clips/{self.archive_sha256}.mp3" if self.archive_sha256 else ""

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def end_label(self) -> str:
        return END_REASONS.get(self.end_reason, self.end_reason)


def live_sha256(session_id: str) -> str:
    """Return the clip hash agents report a live play under (the protocol's report names a clip)."""
    return hashlib.sha256(f"live:{session_id}".encode()).hexdigest()


def new_session_id() -> str:
    return f"live-{secrets.token_hex(6)}"


def check_may_go_live(user: Principal) -> None:
    if not domain.can_approve(user.role):
        raise LiveRefused("Chỉ người duyệt hoặc quản trị viên mới được phát trực tiếp.", 403)


def choose_zones(session: Session, user: Principal, zones: list[str] | None) -> tuple[list[str], str]:
    """Return the session's zones (None: every zone the account sees) and the commune they belong to."""
    mine = tenancy.visible_zone_ids(session, user)
    chosen = sorted(mine) if zones is None else domain.check_zones(zones, mine)
    if not chosen:
        raise LiveRefused("Chưa có cụm loa nào để phát trực tiếp.", 422)
    return chosen, tenancy.commune_of_zones(session, user, chosen)


def busy_zones(session: Session, zones: list[str]) -> list[tuple[str, LiveSession]]:
    """Return (zone, session) for each of `zones` already in a live session."""
    active = session.scalars(select(LiveSession).where(LiveSession.status.in_(ACTIVE))).all()
    return [(zone, row) for row in active for zone in row.zones if zone in zones]


def active_ids(session: Session) -> list[str]:
    return list(session.scalars(select(LiveSession.id).where(LiveSession.status.in_(ACTIVE))))


def devices_of(session: Session, zones: list[str]) -> tuple[set[str], set[str]]:
    """Return the enrolled, not revoked devices of the zones (the loudspeakers allowed on the stream), and
    those of them online now (the ones the chime waits for)."""
    rows = session.execute(
        select(Device.id, Device.online).where(Device.zone.in_(zones), Device.revoked.is_(False))
    ).all()
    return {device for device, _ in rows}, {device for device, online in rows if online}


def open_record(
    session: Session, user: Principal, zones: list[str], commune: str, title: str, channel: int, address: str
) -> LiveSession:
    row = LiveSession(
        id=new_session_id(),
        title=domain.clean_text(title, field="Tiêu đề", max_chars=domain.MAX_TITLE_CHARS)
        if title.strip()
        else "",
        zones=zones,
        commune_id=commune,
        channel=channel,
        status="starting",
        started_by=user.name,
        address=address[:64],
    )
    session.add(row)
    session.flush()
    audit.record(session, user.name, "live.start", f"live:{row.id}", address, zones=zones, title=row.title)
    return row


def close_record(session: Session, row: LiveSession, reason: str, actor: str, audio_s: float) -> None:
    row.status, row.ended_at, row.end_reason = "ended", datetime.now(UTC), reason
    row.ended_by, row.audio_s = actor[:64], audio_s
    joined = joined_devices(session, row.id)
    audit.record(
        session, actor or "station", "live.stop", f"live:{row.id}", "", reason=reason, devices=sorted(joined)
    )


_SIREN_S = 10.0  # an upper bound of the siren before each repeat


def alert_on_air(session: Session, zones: list[str]) -> bool:
    """True if an emergency alert is likely sounding in any of the zones (the loudspeakers left the live
    stream): sent, not cancelled, and within its repeats' length (an alert stays "sent" until it expires)."""
    now = datetime.now(UTC)
    rows = session.execute(
        select(Alert, Clip.duration_s)
        .outerjoin(Clip, Clip.sha256 == Alert.clip_sha256)
        .where(Alert.status == "sent", Alert.expires_at > now, Alert.sent_at > now - timedelta(hours=1))
    ).all()
    for alert, speech_s in rows:
        length = alert.repeat * ((speech_s or 30.0) + _SIREN_S + alert.interval_s)
        sent_at = alert.sent_at  # aware: the column type returns UTC
        if sent_at and now < sent_at + timedelta(seconds=length) and set(alert.zones) & set(zones):
            return True
    return False


def joined_devices(session: Session, session_id: str) -> set[str]:
    """Return the devices that reported playing the session."""
    rows = session.scalars(
        select(Play.device_id).where(Play.clip_sha256 == live_sha256(session_id), Play.outcome == "played")
    )
    return set(rows)


def view(session: Session, row: LiveSession) -> LiveView:
    return LiveView(
        id=row.id,
        status=row.status,
        title=row.title,
        zones=list(row.zones),
        channel=row.channel,
        started_by=row.started_by,
        started_at=row.started_at,
        on_air_at=row.on_air_at,
        ended_at=row.ended_at,
        end_reason=row.end_reason,
        devices=sorted(joined_devices(session, row.id)),
        audio_s=row.audio_s,
        archive_sha256=row.archive_sha256,
    )


def get(session: Session, session_id: str, viewer: Principal | None) -> LiveSession:
    row = session.get(LiveSession, session_id)
    if row is None:
        raise domain.NotFound("Không tìm thấy buổi phát trực tiếp.")
    tenancy.check_visible(viewer, row.commune_id, "Không tìm thấy buổi phát trực tiếp.")
    return row


def recent(session: Session, viewer: Principal, limit: int = 20) -> list[LiveSession]:
    stmt = select(LiveSession).order_by(LiveSession.started_at.desc()).limit(limit)
    stmt = stmt.where(tenancy.commune_filter(LiveSession.commune_id, viewer))
    return list(session.scalars(stmt))


def count_joined(session: Session, session_id: str) -> int:
    stmt = select(func.count(func.distinct(Play.device_id))).where(
        Play.clip_sha256 == live_sha256(session_id), Play.outcome == "played"
    )
    return int(session.scalar(stmt) or 0)
