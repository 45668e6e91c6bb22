"""SQLAlchemy 2 models of the station's database (SQLite by default, PostgreSQL in production)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# JSONB on PostgreSQL: plain `json` has no equality operator, so DISTINCT, GROUP BY or `==` on a row
# with a JSON column would fail there while working on SQLite.
JSONDocument = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Store UTC, always return an aware datetime (SQLite would otherwise hand back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSONDocument,
        list[str]: JSONDocument,
    }


DEFAULT_COMMUNE = "default"  # the commune of a single-commune station (migration 0006 creates it)


class Commune(Base):
    """A commune (xã/phường): the unit that owns zones, devices, bulletins, slots and alerts."""

    __tablename__ = "communes"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The commune's own quiet hours ("22:00-05:00"; "" = none); None: the station's BROADCAST_QUIET_HOURS.
    quiet_hours: Mapped[str | None] = mapped_column(String(16), default=None)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # None: a province account that sees every commune; otherwise the one commune it works for.
    commune_id: Mapped[str | None] = mapped_column(ForeignKey("communes.id"), default=None, index=True)


class AuthToken(Base):
    """An API bearer token or a web session; only the sha256 of the secret is stored."""

    __tablename__ = "auth_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # "api" | "session"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class Zone(Base):
    __tablename__ = "zones"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    commune_id: Mapped[str] = mapped_column(ForeignKey("communes.id"), default=DEFAULT_COMMUNE, index=True)
    latitude: Mapped[float | None] = mapped_column(Float, default=None)
    longitude: Mapped[float | None] = mapped_column(Float, default=None)


class Device(Base):
    __tablename__ = "devices"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    zone: Mapped[str] = mapped_column(ForeignKey("zones.id"))
    mqtt_password_hash: Mapped[str] = mapped_column(String(255))
    revoked: Mapped[bool] = mapped_column(default=False)
    online: Mapped[bool] = mapped_column(default=False)
    version: Mapped[str] = mapped_column(String(64), default="")
    last_seen: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    health: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)  # the last heartbeat, as sent
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    latitude: Mapped[float | None] = mapped_column(Float, default=None)
    longitude: Mapped[float | None] = mapped_column(Float, default=None)
    # The agent-clock time (epoch s) of the newest report applied, so an older one arriving late is ignored.
    report_ts: Mapped[float | None] = mapped_column(Float, default=None)
    # Agent settings the station pushes in a signed config command (heartbeat interval, relay timing...).
    settings: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    # The last streak of reports the station dropped from this device (a flood or made-up command ids):
    # when it began, its last drop, how many were dropped. Shown on its page; audited once per streak.
    report_flood_since: Mapped[datetime | None] = mapped_column(default=None)
    report_flood_at: Mapped[datetime | None] = mapped_column(default=None)
    report_flood_dropped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class DevicePresence(Base):
    """Heartbeats counted per device per hour: the ground truth for uptime."""

    __tablename__ = "device_presence"
    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    hour_start: Mapped[datetime] = mapped_column(primary_key=True)
    heartbeats: Mapped[int] = mapped_column(Integer, default=0)


class Clip(Base):
    __tablename__ = "clips"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    duration_s: Mapped[float] = mapped_column(Float)
    loudness_lufs: Mapped[float] = mapped_column(Float)
    mime: Mapped[str] = mapped_column(String(32), default="audio/mpeg")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Bulletin(Base):
    __tablename__ = "bulletins"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    spoken_text: Mapped[str] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(16))
    zones: Mapped[list[str]] = mapped_column(JSONDocument)
    status: Mapped[str] = mapped_column(String(16), index=True)
    clip_sha256: Mapped[str] = mapped_column(ForeignKey("clips.sha256"))
    engine: Mapped[str] = mapped_column(String(32))
    voice: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    approved_at: Mapped[datetime | None] = mapped_column(default=None)
    commune_id: Mapped[str] = mapped_column(ForeignKey("communes.id"), default=DEFAULT_COMMUNE, index=True)
    source: Mapped[str] = mapped_column(String(16), default="tts")  # tts | upload (a recorded file)
    reject_reason: Mapped[str] = mapped_column(String(500), default="")
    updated_at: Mapped[datetime | None] = mapped_column(default=None)


class BulletinEvent(Base):
    """One step in a bulletin's history: created, edited, submitted, approved, rejected, re-read..."""

    __tablename__ = "bulletin_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)


class Slot(Base):
    """A place in the programme: a one-off start or a daily time on chosen weekdays, for some zones.

    It plays its items in order (priority items first), one after another.
    """

    __tablename__ = "slots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    zones: Mapped[list[str]] = mapped_column(JSONDocument)
    start_at: Mapped[datetime | None] = mapped_column(default=None)
    daily_at: Mapped[str | None] = mapped_column(String(5), default=None)
    days: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    title: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    commune_id: Mapped[str] = mapped_column(ForeignKey("communes.id"), default=DEFAULT_COMMUNE, index=True)


class SlotItem(Base):
    """One thing a slot plays: an approved bulletin (spoken or recorded) or a live stream relay."""

    __tablename__ = "slot_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # "bulletin" | "stream"
    bulletin_id: Mapped[int | None] = mapped_column(ForeignKey("bulletins.id"), default=None, index=True)
    stream_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    duration_s: Mapped[float | None] = mapped_column(Float, default=None)  # streams only
    title: Mapped[str] = mapped_column(String(200), default="")


class ZoneProgramme(Base):
    """The last programme published for a zone: its version only grows; digest avoids empty republishes."""

    __tablename__ = "zone_programmes"
    zone: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    digest: Mapped[str] = mapped_column(String(64), default="")
    window_end: Mapped[datetime | None] = mapped_column(default=None)
    published_at: Mapped[datetime | None] = mapped_column(default=None)


class Command(Base):
    """Every command pushed to agents, as signed: the outbox and the audit trail of what was sent."""

    __tablename__ = "commands"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="play")
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("slots.id"), default=None, index=True)
    bulletin_id: Mapped[int | None] = mapped_column(ForeignKey("bulletins.id"), default=None)
    start_at: Mapped[datetime] = mapped_column()
    zones: Mapped[list[str]] = mapped_column(JSONDocument)
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Play(Base):
    """Proof of play (or a recorded skip) reported by a device."""

    __tablename__ = "plays"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64), index=True)
    command_id: Mapped[str] = mapped_column(String(64), index=True)
    bulletin_id: Mapped[int | None] = mapped_column(Integer, default=None)
    clip_sha256: Mapped[str] = mapped_column(String(64), default="")
    started_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    outcome: Mapped[str] = mapped_column(String(16), default="played")  # played | rejected | skipped
    reason: Mapped[str] = mapped_column(String(500), default="")
    reported_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    __table_args__ = (UniqueConstraint("device_id", "command_id", "outcome", name="uq_play_report"),)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128), default="")
    address: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)


class Abbreviation(Base):
    """A commune's own reading of an abbreviation (overrides the built-in dictionary)."""

    __tablename__ = "abbreviations"
    term: Mapped[str] = mapped_column(String(32), primary_key=True)
    reading: Mapped[str] = mapped_column(String(200))
    updated_by: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Alert(Base):
    """An emergency alert: what was said, to whom, who asked and who confirmed, and its life."""

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    spoken_text: Mapped[str] = mapped_column(Text, default="")
    zones: Mapped[list[str]] = mapped_column(JSONDocument)
    clip_sha256: Mapped[str | None] = mapped_column(ForeignKey("clips.sha256"), default=None)  # speech
    repeat: Mapped[int] = mapped_column(Integer, default=3)
    interval_s: Mapped[float] = mapped_column(Float, default=10.0)
    # awaiting_confirmation | sent | cancelled | expired
    status: Mapped[str] = mapped_column(String(24), index=True)
    command_id: Mapped[str | None] = mapped_column(String(36), default=None)
    cancel_command_id: Mapped[str | None] = mapped_column(String(36), default=None)
    cap_identifier: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(16), default="web")  # web | api | cap
    created_by: Mapped[str] = mapped_column(String(64))
    confirmed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    cancelled_by: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    commune_id: Mapped[str] = mapped_column(ForeignKey("communes.id"), default=DEFAULT_COMMUNE, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime] = mapped_column()
    # Heard first: pending (being synthesised) | ready (not yet sent) | sent (with the alert or after it) |
    # failed (speech_error says why; the siren still went out)
    speech_status: Mapped[str] = mapped_column(String(16), default="sent", server_default="sent")
    speech_error: Mapped[str] = mapped_column(String(500), default="", server_default="")
    speech_command_id: Mapped[str | None] = mapped_column(String(36), default=None)
    # Cancel with correction under the two-person rule: "" | awaiting (a second approver) | sent
    correction_status: Mapped[str] = mapped_column(String(16), default="", server_default="")
    # A drill ("báo động thử"): a test tone and "đây là bản tin thử nghiệm" instead of the siren, marked
    # as a test on every page, report and audit entry.
    test: Mapped[bool] = mapped_column(default=False, server_default="0")
    correction_by: Mapped[str | None] = mapped_column(String(64), default=None)


class Job(Base):
    """A long operation (reading a long bulletin, importing many) whose progress the web page shows."""

    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | done | failed
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(String(500), default="")
    result: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime | None] = mapped_column(default=None)  # progress heartbeat of its worker
    worker: Mapped[str] = mapped_column(String(64), default="")  # host:pid running it


class Counter(Base):
    """A named counter bumped with UPDATE ... RETURNING: several workers never get the same number."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class SkippedSlot(Base):
    """A programme occurrence the station did not send, and why (shown on the reports page)."""

    __tablename__ = "skipped_slots"
    __table_args__ = (UniqueConstraint("slot_id", "start_at", "reason", name="uq_skipped_slot_reason"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id", ondelete="CASCADE"), index=True)
    start_at: Mapped[datetime] = mapped_column(index=True)
    zones: Mapped[list[str]] = mapped_column(JSONDocument)
    commune_id: Mapped[str] = mapped_column(ForeignKey("communes.id"), default=DEFAULT_COMMUNE, index=True)
    reason: Mapped[str] = mapped_column(String(500))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class LiveSession(Base):
    """A live broadcast: who spoke, to which zones, when, which loudspeakers joined, and its recording."""

    __tablename__ = "live_sessions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # "live-" + hex: a protocol identifier
    title: Mapped[str] = mapped_column(String(200), default="")
    zones: Mapped[list[str]] = mapped_column(JSONDocument)
    commune_id: Mapped[str] = mapped_column(ForeignKey("communes.id"), default=DEFAULT_COMMUNE, index=True)
    channel: Mapped[int] = mapped_column(Integer)
    # starting (chime playing) | on_air | ended
    status: Mapped[str] = mapped_column(String(16), index=True)
    started_by: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64), default="")
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    on_air_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_by: Mapped[str] = mapped_column(String(64), default="")
    end_reason: Mapped[str] = mapped_column(String(32), default="")  # stopped | dropped | too_long | ...
    audio_s: Mapped[float] = mapped_column(Float, default=0.0)  # seconds of the officer's audio received
    archive_sha256: Mapped[str | None] = mapped_column(ForeignKey("clips.sha256"), default=None)
    archive_error: Mapped[str] = mapped_column(String(500), default="")
