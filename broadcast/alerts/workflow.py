"""Emergency alerts: raise (with a confirmation rule), send at once, track acknowledgements, retry, cancel.

Heard first: a typed alert goes out with the siren at once and its speech follows from alert_speech.py.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcast import domain, protocol
from broadcast.alerts import lifecycle, sending
from broadcast.alerts import rules as alert_rules
from broadcast.alerts.speech import SpeechWorker, clip_ref
from broadcast.alerts.templates import SIREN, TEST_TONE, Template
from broadcast.bulletins.workflow import get_bulletin
from broadcast.clipstore.rendering import render_bulletin, render_options
from broadcast.clipstore.store import ClipStorage
from broadcast.config import AlertSettings, SpeechSettings
from broadcast.people import audit, tenancy
from broadcast.people.accounts import Principal
from broadcast.programme.publishing import PushContext
from broadcast.protocol.alerts import MAX_INLINE_AUDIO, MAX_REPEAT
from broadcast.signing import commands
from broadcast.storage.models import Alert, Clip, Command
from broadcast.tts import TtsError, normalize_text

log = logging.getLogger(__name__)
MAX_ALERT_CHARS = 2000


@dataclass(frozen=True)
class AlertRequest:
    text: str | None = None
    bulletin_id: int | None = None
    zones: list[str] | None = None  # None: every zone
    repeat: int = 3
    interval_s: float = 10.0
    valid_minutes: float = 30.0
    source: str = "web"
    cap_identifier: str = ""
    test: bool = False  # a drill: a test tone instead of the siren, "Đây là bản tin thử nghiệm." first


@dataclass(frozen=True)
class AlertDeps:
    """Collaborators of the alert workflow."""

    push: PushContext
    clips: ClipStorage
    voice: SpeechSettings  # how alert speech is read (engine, voice, loudness)
    policy: AlertSettings  # the two-person rule
    templates: dict[str, Template]
    speech: SpeechWorker | None = None  # None: speech is synthesised inside the request (no worker)


def preamble_of(templates: dict[str, Template], test: bool) -> Template | None:
    """Return what sounds before each repeat: the siren, or the short test tone of a drill."""
    return templates.get(TEST_TONE if test else SIREN)


def _needs_confirmation(user: Principal, policy: AlertSettings) -> bool:
    return policy.alert_two_person or not domain.can_approve(user.role)


def _clip_for(
    session: Session, deps: AlertDeps, user: Principal, request: AlertRequest
) -> tuple[Clip | None, str, str]:
    """Return the speech clip (None: synthesised after the siren went out), the text and the spoken text."""
    if request.bulletin_id is not None:
        if request.test:
            raise domain.Invalid("Báo động thử dùng nội dung gõ vào, không dùng bản tin có sẵn.")
        bulletin = get_bulletin(session, request.bulletin_id, user)
        if not domain.can_air(bulletin.status):
            raise domain.Conflict("Bản tin này chưa được duyệt nên không dùng làm cảnh báo được.")
        clip = session.get(Clip, bulletin.clip_sha256)
        assert clip is not None
        return clip, bulletin.text, bulletin.spoken_text
    text = domain.clean_text(request.text or "", field="Nội dung cảnh báo", max_chars=MAX_ALERT_CHARS)
    options = replace(render_options(deps.voice), with_chime=False)
    if not normalize_text(text, options.extra):  # cheap: a text with nothing to read is refused now
        raise TtsError("Cảnh báo không có nội dung đọc được.")
    heard = lifecycle.spoken_source(text, request.test)  # a drill says it is one before the text
    spoken = normalize_text(heard, options.extra)
    if deps.speech is not None and preamble_of(deps.templates, request.test) is not None:
        return None, text, spoken
    rendered = render_bulletin(heard, options)
    sha = deps.clips.put(rendered.clip.data)
    clip = session.get(Clip, sha)
    if clip is None:
        clip = Clip(
            sha256=sha,
            size=len(rendered.clip.data),
            duration_s=rendered.clip.duration_s,
            loudness_lufs=rendered.clip.loudness_lufs,
        )
        session.add(clip)
        session.flush()
    return clip, text, rendered.spoken_text


def raise_alert(
    session: Session, deps: AlertDeps, user: Principal, request: AlertRequest, address: str
) -> Alert:
    """Create an alert; it is sent at once unless a (second) approver must confirm it first."""
    if not 1 <= request.repeat <= MAX_REPEAT:
        raise domain.Invalid(f"Số lần lặp phải từ 1 đến {MAX_REPEAT}.")
    if not 0 <= request.interval_s <= 600 or not 1 <= request.valid_minutes <= 24 * 60:
        raise domain.Invalid("Khoảng cách lặp 0–600 giây; hiệu lực từ 1 phút đến 24 giờ.")
    # An officer alerts only their commune's zones ("every zone" = every zone of theirs); a province
    # account may alert any zone, of several communes at once.
    mine = tenancy.visible_zone_ids(session, user)
    zones = sorted(mine) if request.zones is None else domain.check_zones(request.zones, mine)
    if not zones:
        raise domain.Invalid("Chưa có cụm loa nào để phát cảnh báo.")
    commune = tenancy.commune_of_zones(session, user, zones)
    clip, text, spoken = _clip_for(session, deps, user, request)
    alert = Alert(
        text=text,
        spoken_text=spoken,
        zones=zones,
        clip_sha256=clip.sha256 if clip else None,
        speech_status="ready" if clip else "pending",
        repeat=request.repeat,
        interval_s=request.interval_s,
        status="awaiting_confirmation",
        source=request.source,
        cap_identifier=request.cap_identifier[:200],
        created_by=user.name,
        commune_id=commune,
        expires_at=datetime.now(UTC) + timedelta(minutes=request.valid_minutes),
        test=request.test,
    )
    session.add(alert)
    session.flush()
    drill = {"test": True} if request.test else {}
    audit.record(
        session, user.name, "alert.raise", f"alert:{alert.id}", address, zones=zones, source=request.source,
        **drill,
    )  # fmt: skip
    if not _needs_confirmation(user, deps.policy):
        _send(session, deps, alert)  # the siren leaves before any synthesis starts
    else:
        session.commit()  # the speech worker must find the alert
    if clip is None and deps.speech is not None:
        deps.speech.submit(deps, alert.id, lifecycle.spoken_source(text, request.test))
    return alert


def confirm_alert(session: Session, deps: AlertDeps, user: Principal, alert_id: int, address: str) -> Alert:
    """Send an alert waiting for confirmation; the confirmer must be an approver other than the author."""
    alert = get_alert(session, alert_id, user)
    tenancy.check_may_change(session, user, alert.zones)
    session.refresh(alert, with_for_update=True)  # the speech worker may be storing its clip right now
    if alert.status != "awaiting_confirmation":
        raise domain.Conflict("Cảnh báo này không còn chờ xác nhận.")
    if not domain.can_approve(user.role):
        raise domain.Forbidden("Chỉ người duyệt hoặc quản trị viên mới được xác nhận cảnh báo.")
    if user.name == alert.created_by and deps.policy.alert_two_person:
        raise domain.Forbidden("Quy tắc hai người: người thứ hai phải xác nhận cảnh báo này.")
    if alert.expires_at <= datetime.now(UTC):
        alert.status = "expired"
        raise domain.Conflict("Cảnh báo đã hết hiệu lực trước khi được xác nhận.")
    alert.confirmed_by = user.name
    audit.record(session, user.name, "alert.confirm", f"alert:{alert.id}", address)
    _send(session, deps, alert)
    return alert


def _send(session: Session, deps: AlertDeps, alert: Alert) -> None:
    """Publish the alert: with its speech when that is ready, else the siren now and the speech later."""
    siren = preamble_of(deps.templates, alert.test)  # a drill: the test tone
    clip = session.get(Clip, alert.clip_sha256) if alert.clip_sha256 else None
    follows = clip is None and alert.speech_status == "pending"
    if clip is not None:
        message = clip_ref(deps, clip)
        alert.speech_status = "sent"
    elif siren is not None:  # pending: speech follows; failed: the siren is all there is to play
        message = siren.clip
    else:
        raise domain.Conflict("Chưa có tiếng còi (hoặc tiếng bíp thử) trên trạm; không phát được cảnh báo.")
    inline = deps.clips.read(clip.sha256) if clip is not None and clip.size <= MAX_INLINE_AUDIO else None
    command = protocol.AlertCommand(
        **sending.envelope(session, alert),
        alert_id=alert.id,
        clip=message,
        repeat=alert.repeat,
        interval_s=alert.interval_s,
        preamble=siren.clip if siren else None,
        audio_b64=base64.b64encode(inline).decode() if inline else None,
        title=lifecycle.TEST_TITLE if alert.test else lifecycle.ALERT_TITLE,
        speech_follows=follows,
    )
    row = commands.store_signed(
        session, command.to_body(), deps.push.signing_key, start_at=datetime.now(UTC), kind="alert"
    )
    alert.command_id, alert.status, alert.sent_at = row.id, "sent", datetime.now(UTC)
    session.flush()
    session.commit()  # recorded before it leaves: a crash after publishing must not forget the alert
    sending.publish(deps.push.publisher, alert, row)
    log.warning("ALERT %s sent to %s (command %s)", alert.id, alert.zones, row.id)


def cancel_alert(
    session: Session, deps: AlertDeps, user: Principal, alert_id: int, correction: bool, address: str
) -> Alert:
    """Stop an alert everywhere now; its spoken correction follows at once, or after a second approver."""
    alert = get_alert(session, alert_id, user)
    tenancy.check_may_change(session, user, alert.zones)
    session.refresh(alert, with_for_update=True)
    if alert.status in ("cancelled", "expired"):
        raise domain.Conflict("Cảnh báo này đã kết thúc.")
    refusal = alert_rules.cancel_refusal(user.role, user.name, alert.status, alert.created_by)
    if refusal is not None:
        raise domain.Forbidden(refusal)
    live = alert.status == "sent" and alert.command_id is not None
    waits = live and alert_rules.correction_waits(deps.policy.alert_two_person, correction)
    audit.record(
        session, user.name, "alert.cancel", f"alert:{alert.id}", address, correction=correction,
        correction_waits=waits,
    )  # fmt: skip
    alert.cancelled_by = user.name
    if not live:
        alert.status = "cancelled"
        return alert
    fix = deps.templates.get("huy") if correction and not waits else None
    row = _cancel_command(session, deps, alert, fix)
    alert.status, alert.cancel_command_id = "cancelled", row.id
    alert.correction_status = "awaiting" if waits else ("sent" if fix else "")
    session.commit()
    sending.publish(deps.push.publisher, alert, row)
    return alert


def confirm_correction(
    session: Session, deps: AlertDeps, user: Principal, alert_id: int, address: str
) -> Alert:
    """Send the spoken correction of a cancelled alert, confirmed by a second approver (two-person rule)."""
    alert = get_alert(session, alert_id, user)
    tenancy.check_may_change(session, user, alert.zones)
    session.refresh(alert, with_for_update=True)
    if alert.correction_status != "awaiting" or alert.command_id is None:
        raise domain.Conflict("Cảnh báo này không có thông báo huỷ nào đang chờ xác nhận.")
    refusal = alert_rules.correction_refusal(
        user.role, user.name, alert.cancelled_by, deps.policy.alert_two_person
    )
    if refusal is not None:
        raise domain.Forbidden(refusal)
    if alert.expires_at <= datetime.now(UTC):
        raise domain.Conflict("Cảnh báo đã hết hiệu lực: loa không còn phát thông báo huỷ được nữa.")
    fix = deps.templates.get("huy")
    if fix is None:
        raise domain.Conflict("Chưa có bản ghi «Thông báo huỷ cảnh báo» trên trạm.")
    audit.record(session, user.name, "alert.correction_confirm", f"alert:{alert.id}", address)
    # A second cancel of the same alert command, now with the correction: agents that heard it say so.
    row = _cancel_command(session, deps, alert, fix)
    alert.correction_status, alert.correction_by = "sent", user.name
    session.commit()
    sending.publish(deps.push.publisher, alert, row)
    return alert


def _cancel_command(session: Session, deps: AlertDeps, alert: Alert, fix: Template | None) -> Command:
    assert alert.command_id is not None
    command = protocol.CancelCommand(
        **sending.envelope(session, alert),
        target=alert.command_id,
        correction=fix.clip if fix else None,
    )
    return commands.store_signed(
        session, command.to_body(), deps.push.signing_key, start_at=datetime.now(UTC), kind="cancel"
    )


def get_alert(session: Session, alert_id: int, viewer: Principal | None = None) -> Alert:
    """Return the alert (marking it expired if due); another commune's is answered as missing."""
    alert = session.get(Alert, alert_id)
    missing = f"Không có cảnh báo số {alert_id}."
    if alert is None:
        raise domain.NotFound(missing)
    tenancy.check_visible(viewer, alert.commune_id, missing)
    if alert.status == "sent" and alert.expires_at <= datetime.now(UTC):
        alert.status = "expired"
    return alert


def list_alerts(session: Session, viewer: Principal, limit: int = 50) -> list[Alert]:
    """Return the newest alerts of the viewer's commune (every commune for a province account)."""
    query = select(Alert).where(tenancy.commune_filter(Alert.commune_id, viewer))
    return list(session.scalars(query.order_by(Alert.id.desc()).limit(limit)))
