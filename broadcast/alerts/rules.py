"""Who may do what to an emergency alert: pure rules (role, author, status in; a refusal or None out).

Cancelling a live alert takes the authority raising one takes: an editor's alert needs an approver's
confirmation, so an editor may not silence a sent one either (the Forbidden message says whom to ask);
an editor may withdraw only their own alert that still awaits confirmation. With the two-person rule on,
the stop itself stays one click (silencing a false alarm must be fast) but its spoken correction waits
for a second approver.
"""

from __future__ import annotations

from broadcast import domain


def cancel_refusal(role: str, user: str, status: str, created_by: str) -> str | None:
    """Return why `user` may not cancel an alert in `status` raised by `created_by` (None: they may)."""
    if domain.can_approve(role):
        return None
    if status == "awaiting_confirmation":
        if user == created_by:
            return None
        return "Biên tập viên chỉ được rút lại cảnh báo do chính mình tạo và đang chờ xác nhận."
    return (
        "Biên tập viên không được huỷ cảnh báo đã phát. "
        "Hãy báo ngay người duyệt hoặc quản trị viên để họ huỷ."
    )


def correction_waits(two_person: bool, correction: bool) -> bool:
    """Return True if the spoken correction of a cancel must wait for a second approver."""
    return two_person and correction


def correction_refusal(role: str, user: str, cancelled_by: str | None, two_person: bool) -> str | None:
    """Return why `user` may not confirm the spoken correction of a cancel (None: they may)."""
    if not domain.can_approve(role):
        return "Chỉ người duyệt hoặc quản trị viên mới được xác nhận thông báo huỷ cảnh báo."
    if two_person and user == cancelled_by:
        return "Quy tắc hai người: người thứ hai phải xác nhận thông báo huỷ cảnh báo."
    return None
