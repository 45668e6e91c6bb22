"""Request and response bodies of the JSON API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Row

from broadcast.bulletins.workflow import version_of
from broadcast.protocol import Priority
from broadcast.storage.models import Bulletin, Device, Play


class BulletinIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(description="Tiêu đề bản tin")
    text: str = Field(description="Nội dung bản tin như cán bộ gõ vào")
    priority: Priority = "normal"
    zones: list[str] = Field(description="Các vùng (cụm loa) sẽ phát")
    engine: str | None = None
    voice: str | None = None
    draft: bool = Field(
        False, description="true: lưu nháp (status unsent, chỉ người soạn thấy); gửi duyệt sau bằng /submit"
    )


class BulletinOut(BaseModel):
    id: int
    title: str
    text: str
    spoken_text: str
    priority: str
    zones: list[str]
    status: str
    audio_url: str
    clip_sha256: str
    duration_s: float
    engine: str
    voice: str
    created_at: datetime
    approved_at: datetime | None
    unknown_abbreviations: list[str] = Field(
        default_factory=list,
        description="Những gì máy chưa biết cách đọc: từ viết tắt (sẽ đánh vần từng chữ), chữ dính liền "
        "với số hoặc ký hiệu lạ (sẽ bị đọc sai hay bỏ qua); cần xem lại trước khi duyệt",
    )
    source: str = Field("tts", description="tts: máy đọc nội dung; upload: bản ghi âm tải lên")
    reject_reason: str = Field("", description="Lý do người duyệt trả lại (khi status là rejected)")
    updated_at: datetime | None = None
    version: str = Field(
        "",
        description="Phiên bản nội dung (cũng là ETag): gửi lại khi duyệt để chỉ duyệt đúng bản đã nghe",
    )

    @classmethod
    def of(cls, bulletin: Bulletin, duration_s: float, unknown: list[str]) -> BulletinOut:
        return cls(
            version=version_of(bulletin),
            id=bulletin.id,
            title=bulletin.title,
            text=bulletin.text,
            spoken_text=bulletin.spoken_text,
            priority=bulletin.priority,
            zones=list(bulletin.zones),
            status=bulletin.status,
            audio_url=f"/clips/{bulletin.clip_sha256}.mp3",
            clip_sha256=bulletin.clip_sha256,
            duration_s=duration_s,
            engine=bulletin.engine,
            voice=bulletin.voice,
            created_at=bulletin.created_at,
            approved_at=bulletin.approved_at,
            unknown_abbreviations=unknown,
            source=bulletin.source,
            reject_reason=bulletin.reject_reason,
            updated_at=bulletin.updated_at,
        )


class BulletinApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str | None = Field(
        None, description="Phiên bản đã nghe (trường version / ETag); bản tin đã đổi thì trả 409"
    )


class BulletinRejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(description="Cần sửa gì (bắt buộc, người soạn sẽ đọc)")


class BulletinEventOut(BaseModel):
    at: datetime
    actor: str
    action: str = Field(
        description="created, imported, uploaded, edited, rerendered, submitted, approved, rejected"
    )
    summary: str = Field(description="Một dòng mô tả bằng tiếng Việt")
    detail: dict[str, Any] = Field(default_factory=dict)


class DeviceOut(BaseModel):
    id: str
    zone: str
    online: bool
    last_seen: datetime | None
    version: str
    revoked: bool
    health: dict[str, Any] = Field(
        default_factory=dict, description="Nhịp tim gần nhất: uptime, nhiệt độ, ổ đĩa, lệch đồng hồ, mạng…"
    )

    @classmethod
    def of(cls, device: Device) -> DeviceOut:
        return cls(
            id=device.id,
            zone=device.zone,
            online=device.online,
            last_seen=device.last_seen,
            version=device.version,
            revoked=device.revoked,
            health=dict(device.health or {}),
        )

    @classmethod
    def of_row(cls, row: Row[Any]) -> DeviceOut:
        """Build from a row of DEVICE_COLUMNS without validating again what the database typed.

        A device list is up to 2,000 of these: loading ORM objects and validating each field cost more
        than the query (cProfile: 2/3 of the request), and the other JSON column (settings) is not read.
        """
        return cls.model_construct(
            id=row.id,
            zone=row.zone,
            online=row.online,
            last_seen=row.last_seen,
            version=row.version,
            revoked=row.revoked,
            health=row.health or {},
        )


# What a device list reads: only what DeviceOut shows.
DEVICE_COLUMNS = (
    Device.id,
    Device.zone,
    Device.online,
    Device.last_seen,
    Device.version,
    Device.revoked,
    Device.health,
)


class PlayOut(BaseModel):
    id: int
    device_id: str
    command_id: str
    bulletin_id: int | None
    clip_sha256: str
    started_at: datetime | None
    duration_s: float
    priority: str
    outcome: str
    reason: str

    @classmethod
    def of(cls, play: Play) -> PlayOut:
        return cls(
            id=play.id,
            device_id=play.device_id,
            command_id=play.command_id,
            bulletin_id=play.bulletin_id,
            clip_sha256=play.clip_sha256,
            started_at=play.started_at,
            duration_s=play.duration_s,
            priority=play.priority,
            outcome=play.outcome,
            reason=play.reason,
        )


class CsvResponse(PlainTextResponse):
    """A CSV download: documented as text/csv in the spec (the body is UTF-8 with a BOM)."""

    media_type = "text/csv"
