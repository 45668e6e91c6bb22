"""Bulletins, roles and statuses: the station's pure rules (no I/O)."""

from __future__ import annotations

import hashlib
import json
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
    UNSENT = "unsent"  # saved by its author as a draft ("Lưu nháp"): only the author sees it, not yet sent
    DRAFT = "draft"  # written, audio rendered for preview, not yet approved: can never air
    READY = "ready"  # approved by an approver/admin and has audio: may be scheduled and aired
    REJECTED = "rejected"  # sent back with a reason: the editor edits it and submits it again


ROLE_LABELS = {Role.EDITOR: "Biên tập viên", Role.APPROVER: "Người duyệt", Role.ADMIN: "Quản trị"}
STATUS_LABELS = {
    BulletinStatus.UNSENT: "Bản nháp",
    BulletinStatus.DRAFT: "Chờ duyệt",
    BulletinStatus.READY: "Đã duyệt",
    BulletinStatus.REJECTED: "Bị trả lại",
}
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


VERSION_HEX = 32  # 128 bits: an editor cannot craft two contents that share a version (2^64 tries)
STALE_VERSION = (
    "Bản tin đã được sửa sau khi bạn mở để duyệt (nội dung, âm thanh, mức ưu tiên hoặc vùng phát đã khác). "
    "Bản tin vẫn chờ duyệt: hãy nghe lại bản mới rồi duyệt."
)


def content_version(
    title: str, text: str, priority: str, zones: list[str], clip_sha256: str, source: str
) -> str:
    """Return the version of what an approver reviews: a hash of everything heard or shown to them.

    A content hash, not a counter: no writer can forget to bump it, and an edit undone gives back the
    version that was heard (the same content, rightly approvable).
    """
    content = json.dumps([title, text, priority, zones, clip_sha256, source], ensure_ascii=False)
    return hashlib.sha256(content.encode()).hexdigest()[:VERSION_HEX]


def check_reviewed(current: str, reviewed: str | None) -> None:
    """Raise Conflict if the approver reviewed another version (None: the client named none)."""
    if reviewed is not None and reviewed != current:
        raise Conflict(STALE_VERSION)


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


MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 256  # argon2 hashes anything, but a megabyte "password" is an attack, not a secret
# Passwords people actually pick (leaked lists, Vietnamese habits), compared after folding: lower case,
# no diacritics, no spaces or punctuation — so "Mật khẩu 123" is "matkhau123".
_COMMON_TEXT = """
    matkhau matkhau1 matkhau12 matkhau123 matkhau1234 matkhau12345 matkhau123456 matkhaumoi matkhaucuatoi
    123456789 1234567890 12345678910 0123456789 0987654321 987654321 1111111111 123123123 123456789a
    a123456789 abc123456 abcd123456 abc123456789 1q2w3e4r5t qwertyuiop qwerty123 qwerty12345 asdfghjkl
    password password1 password12 password123 passw0rd passw0rd1 pssw0rd iloveyou iloveyou123
    anhyeuem anhyeuem123 anhyeuem1 emyeuanh emyeuanh123 yeuem123 yeuanh123 vietnam vietnam123 vietnam1
    hanoi123 saigon123 hochiminh123 admin admin123 admin1234 admin12345 admin123456 administrator
    quantri quantri123 quantrivien matkhauadmin root123456 changeme changeme123 welcome123 letmein123
    loaxa loaxa123 truyenthanh truyenthanh123 daitruyenthanh ubndxa ubndxa123 xa123456
"""
COMMON_PASSWORDS = frozenset(_COMMON_TEXT.split())
# Words that stay guessable whatever digits follow them ("matkhau2024", "admin@2025").
_COMMON_STEMS = ("matkhau", "password", "passw0rd", "admin", "quantri", "anhyeuem", "emyeuanh", "loaxa")
_KEYBOARD_RUNS = ("01234567890123456789", "98765432109876543210", "qwertyuiopasdfghjklzxcvbnm")


def _fold(text: str) -> str:
    """Return lower-case letters and digits only, without Vietnamese diacritics (đ → d)."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return "".join(ch for ch in decomposed if ch.isalnum() and not unicodedata.combining(ch))


def check_password_strength(password: str, user_name: str = "") -> str:
    """Return the password if it resists guessing: long, not the account name, not a common password."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise Invalid(f"Mật khẩu phải dài ít nhất {MIN_PASSWORD_CHARS} ký tự.")
    if len(password) > MAX_PASSWORD_CHARS:
        raise Invalid(f"Mật khẩu quá dài (tối đa {MAX_PASSWORD_CHARS} ký tự).")
    if _CONTROL.search(password):
        raise Invalid("Mật khẩu chứa ký tự điều khiển không hợp lệ.")
    folded = _fold(password)
    name = _fold(user_name)
    if len(name) >= 3 and name in folded:
        raise Invalid("Mật khẩu không được chứa tên đăng nhập.")
    if len(set(password)) < 4 or len(set(folded)) < 4:
        raise Invalid("Mật khẩu quá đơn giản (lặp lại ít ký tự).")
    stem = folded.rstrip("0123456789")
    if (
        folded in COMMON_PASSWORDS
        or stem in COMMON_PASSWORDS
        or stem in _COMMON_STEMS
        or any(folded in run for run in _KEYBOARD_RUNS)
    ):
        raise Invalid(
            "Mật khẩu quá phổ biến, dễ bị đoán (ví dụ «matkhau123», «123456789»). Hãy chọn cụm từ khác."
        )
    return password
