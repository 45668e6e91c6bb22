"""Bulletins, roles and statuses: the station's pure rules (no I/O)."""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum

from broadcast.protocol import PRIORITIES, is_identifier


class DomainError(Exception):
    """A rule was broken; the message is shown to the commune officer (Vietnamese)."""

    status_code = 400


class NotFound(DomainError):
    status_code = 404


class Forbidden(DomainError):
    status_code = 403


class Conflict(DomainError):
    status_code = 409


class Invalid(DomainError):
    status_code = 422


class Role(StrEnum):
    EDITOR = "editor"
    APPROVER = "approver"
    ADMIN = "admin"


class BulletinStatus(StrEnum):
    DRAFT = "draft"  # written, audio rendered for preview, not yet approved: can never air
    READY = "ready"  # approved by an approver/admin and has audio: may be scheduled and aired


ROLE_LABELS = {Role.EDITOR: "Biên tập viên", Role.APPROVER: "Người duyệt", Role.ADMIN: "Quản trị"}
STATUS_LABELS = {BulletinStatus.DRAFT: "Chờ duyệt", BulletinStatus.READY: "Đã duyệt"}
PRIORITY_LABELS = {"normal": "Thường", "priority": "Ưu tiên", "emergency": "Khẩn cấp"}

MAX_TITLE_CHARS = 200
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{1,63}$")


def can_approve(role: str) -> bool:
    """Return True if the role may approve bulletins (enforced server-side)."""
    return role in (Role.APPROVER, Role.ADMIN)


def can_air(status: str) -> bool:
    """Return True if a bulletin in this status may be scheduled or pushed to loudspeakers."""
    return status == BulletinStatus.READY


def clean_text(value: str, *, field: str, max_chars: int) -> str:
    """Return text NFC-normalised and trimmed, or raise Invalid for empty, oversized or binary input."""
    if "\ufffd" in value:
        raise Invalid(f"{field}: văn bản chứa ký tự lỗi mã hoá (không phải UTF-8 hợp lệ).")
    if _CONTROL.search(value):
        raise Invalid(f"{field}: văn bản chứa ký tự điều khiển không hợp lệ.")
    text = unicodedata.normalize("NFC", value).strip()
    if not text:
        raise Invalid(f"{field}: không được để trống.")
    if len(text) > max_chars:
        raise Invalid(f"{field}: quá dài ({len(text)} ký tự, tối đa {max_chars}).")
    return text


def check_priority(priority: str) -> str:
    """Return the priority if it is one of the three levels of Thông tư 39/2020."""
    if priority not in PRIORITIES:
        raise Invalid(f"Mức ưu tiên không hợp lệ: {priority!r} (thường / ưu tiên / khẩn cấp).")
    return priority


def check_zones(zones: list[str], known: set[str]) -> list[str]:
    """Return the de-duplicated zones, or raise Invalid if any is malformed or unknown."""
    if not zones:
        raise Invalid("Chọn ít nhất một cụm loa (vùng phát).")
    result: list[str] = []
    for zone in zones:
        if not is_identifier(zone):
            raise Invalid(f"Mã vùng không hợp lệ: {zone!r}.")
        if zone not in known:
            raise Invalid(f"Vùng không tồn tại: {zone!r}.")
        if zone not in result:
            result.append(zone)
    return result


def check_user_name(name: str) -> str:
    """Return the account name if it is 2–64 plain characters."""
    if not _NAME.fullmatch(name):
        raise Invalid("Tên đăng nhập chỉ gồm chữ không dấu, số, '.', '-', '_' (2–64 ký tự).")
    return name


def check_password_strength(password: str) -> str:
    """Return the password if it is long enough to resist guessing (no default or short passwords)."""
    if len(password) < 10:
        raise Invalid("Mật khẩu phải dài ít nhất 10 ký tự.")
    if len(set(password)) < 4:
        raise Invalid("Mật khẩu quá đơn giản.")
    return password
