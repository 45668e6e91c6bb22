"""Direct device control: set a speaker's volume, play a test tone (signed, audited, sent to one device)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from broadcast import domain, protocol
from broadcast.people import audit, tenancy
from broadcast.people.accounts import Principal
from broadcast.programme.publishing import PushContext
from broadcast.protocol.control import MAX_TONE_HZ, MAX_TONE_S, MIN_TONE_HZ
from broadcast.signing import commands

CONTROL_TTL_S = 120.0
"""A control command older than this is stale: a volume change queued for hours must not surprise anyone."""
TONE_LEAD_S = 3.0
"""The tone starts this long after it is sent, so the relay's pre-roll and the command's trip both fit."""


def _require_operator(user: Principal) -> None:
    if user.role not in (domain.Role.APPROVER, domain.Role.ADMIN):
        raise domain.Forbidden("Chỉ người duyệt hoặc quản trị viên mới được điều khiển cụm loa.")


def _send(ctx: PushContext, device_id: str, body: dict[str, object], start_at: datetime) -> str:
    with ctx.db.session() as session:
        command = commands.store_signed(session, dict(body), ctx.signing_key, start_at=start_at)
        payload = command.payload.encode()
    ctx.publisher.publish(protocol.device_command_topic(device_id), payload, expiry_s=CONTROL_TTL_S)
    return str(body["id"])


def set_volume(ctx: PushContext, user: Principal, device_id: str, level: int, address: str) -> str:
    """Send a signed volume command to one device; return the command id."""
    _require_operator(user)
    if not 0 <= level <= 100:
        raise domain.Invalid("Âm lượng phải từ 0 đến 100.")
    now = time.time()
    with ctx.db.session() as session:
        device = tenancy.visible_device(session, user, device_id)  # another commune's: 404
        command = protocol.VolumeCommand(
            id=str(uuid.uuid4()),
            seq=commands.next_seq(session),
            issued_at=now,
            expires_at=now + CONTROL_TTL_S,
            zones=(device.zone,),
            level=level,
        )
        audit.record(session, user.name, "device.volume", f"device:{device_id}", address, level=level)
    return _send(ctx, device_id, command.to_body(), datetime.fromtimestamp(now, UTC))


def play_test_tone(
    ctx: PushContext, user: Principal, device_id: str, duration_s: float, frequency: float, address: str
) -> str:
    """Send a signed test-tone command to one device; return the command id."""
    _require_operator(user)
    if not 0 < duration_s <= MAX_TONE_S or not MIN_TONE_HZ <= frequency <= MAX_TONE_HZ:
        raise domain.Invalid("Âm thử: thời lượng 0–60 giây, tần số 20–20.000 Hz.")
    now = time.time()
    start = now + TONE_LEAD_S
    with ctx.db.session() as session:
        device = tenancy.visible_device(session, user, device_id)  # another commune's: 404
        command = protocol.TestToneCommand(
            id=str(uuid.uuid4()),
            seq=commands.next_seq(session),
            issued_at=now,
            expires_at=start + CONTROL_TTL_S,
            start_at=start,
            zones=(device.zone,),
            duration_s=duration_s,
            frequency=frequency,
        )
        audit.record(session, user.name, "device.test_tone", f"device:{device_id}", address)
    return _send(ctx, device_id, command.to_body(), datetime.fromtimestamp(start, UTC))
