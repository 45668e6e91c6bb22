"""Review of bulletins: the approval queue, sending back with a reason, submitting again."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcast import domain
from broadcast.bulletins.history import Action, record
from broadcast.bulletins.workflow import get_bulletin, version_of
from broadcast.people import audit, tenancy
from broadcast.people.accounts import Principal
from broadcast.storage.models import Bulletin

Status = domain.BulletinStatus
MIN_REASON_CHARS = 5  # "sai" explains nothing; the editor must learn what to change
MAX_REASON_CHARS = 500  # bulletins.reject_reason is String(500)
QUEUE_LIMIT = 200
EDITABLE = (Status.UNSENT, Status.DRAFT, Status.REJECTED)  # an approved one must be sent back first


def can_edit(status: str) -> bool:
    """Return True if a bulletin in this status may be edited (an approved one must be sent back first)."""
    return status in EDITABLE


def can_reject(status: str) -> bool:
    """Return True if a bulletin may be sent back: one waiting, or one approved that must not air."""
    return status in (Status.DRAFT, Status.READY)


def can_submit(status: str) -> bool:
    """Return True if a bulletin may be sent for approval: a saved draft, or one sent back."""
    return status in (Status.UNSENT, Status.REJECTED)


def check_reason(reason: str) -> str:
    """Return the cleaned reason for sending a bulletin back, or raise Invalid."""
    text = domain.clean_text(reason, field="Lý do trả lại", max_chars=MAX_REASON_CHARS)
    if len(text) < MIN_REASON_CHARS:
        raise domain.Invalid(
            f"Lý do trả lại quá ngắn: hãy ghi rõ cần sửa gì (ít nhất {MIN_REASON_CHARS} ký tự)."
        )
    return text


def check_editable(bulletin: Bulletin) -> None:
    """Raise Conflict if the bulletin may not be edited now."""
    if not can_edit(bulletin.status):
        raise domain.Conflict(
            "Bản tin đã duyệt không sửa được. Người duyệt cần trả lại bản tin trước, rồi mới sửa."
        )


def reject_bulletin(
    session: Session, user: Principal, bulletin_id: int, reason: str, address: str
) -> Bulletin:
    """Send a bulletin back to its editor with a reason (approver or admin only); it can no longer air."""
    if not domain.can_approve(user.role):
        raise domain.Forbidden("Chỉ người duyệt hoặc quản trị viên mới được trả lại bản tin.")
    clean = check_reason(reason)
    bulletin = get_bulletin(session, bulletin_id, user)
    tenancy.check_may_change(session, user, bulletin.zones)
    if not can_reject(bulletin.status):
        raise domain.Conflict("Bản tin này đã bị trả lại rồi.")
    was = bulletin.status
    bulletin.status = Status.REJECTED
    bulletin.reject_reason = clean
    bulletin.approved_by = None
    bulletin.approved_at = None
    bulletin.updated_at = datetime.now(UTC)
    audit.record(session, user.name, "bulletin.reject", f"bulletin:{bulletin.id}", address, reason=clean)
    record(
        session, bulletin.id, user.name, Action.REJECTED, reason=clean, was=was, version=version_of(bulletin)
    )
    return bulletin


def submit_bulletin(session: Session, user: Principal, bulletin_id: int, address: str) -> Bulletin:
    """Put a saved draft or a sent-back bulletin in the approval queue (a reason stays in the history)."""
    bulletin = get_bulletin(session, bulletin_id, user)
    tenancy.check_may_change(session, user, bulletin.zones)
    if not can_submit(bulletin.status):
        raise domain.Conflict(
            "Bản tin này đã được gửi duyệt: chỉ bản nháp hoặc bản tin bị trả lại mới cần gửi."
        )
    first = bulletin.status == Status.UNSENT
    bulletin.status = Status.DRAFT
    bulletin.reject_reason = ""
    bulletin.updated_at = datetime.now(UTC)
    audit.record(session, user.name, "bulletin.submit", f"bulletin:{bulletin.id}", address)
    record(session, bulletin.id, user.name, Action.SUBMITTED, first=first)
    return bulletin


def approval_queue(session: Session, viewer: Principal) -> list[Bulletin]:
    """Return the bulletins waiting for approval that the viewer may see: emergencies first, then oldest."""
    rank = {"emergency": 0, "priority": 1}
    rows = session.scalars(
        select(Bulletin)
        .where(Bulletin.status == Status.DRAFT, tenancy.commune_filter(Bulletin.commune_id, viewer))
        .order_by(Bulletin.id)
        .limit(QUEUE_LIMIT)
    )
    return sorted(rows, key=lambda b: rank.get(b.priority, 2))


def check_status_filter(status: str | None) -> str | None:
    """Return a list filter's status (None or "" for all), or raise Invalid for an unknown one."""
    if not status:
        return None
    if status not in {s.value for s in Status}:
        choices = ", ".join(f"{s.value} ({domain.STATUS_LABELS[s]})" for s in Status)
        raise domain.Invalid(f"Trạng thái không hợp lệ: {status!r}. Chọn một trong: {choices}.")
    return status
