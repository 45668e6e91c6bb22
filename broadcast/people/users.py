"""Account administration for admins: list, add, disable/enable, reset a password (all audited).

A commune admin manages the accounts of their own commune; a province admin (no commune) manages all and
may create province accounts. Nobody can disable their own account (a station must keep an admin).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcast import domain
from broadcast.people import accounts, audit, tenancy
from broadcast.people import credentials as account_admin
from broadcast.people.accounts import Principal
from broadcast.people.tenancy import choose_commune
from broadcast.storage.models import AuthToken, User

PROVINCE = "__province__"  # the form value for "no commune: a province account"


def require_admin(user: Principal) -> None:
    if user.role != domain.Role.ADMIN:
        raise domain.Forbidden("Chỉ quản trị viên mới được quản lý tài khoản, vùng và thiết bị.")


def list_users(session: Session, admin: Principal) -> list[User]:
    require_admin(admin)
    stmt = select(User).order_by(User.name)
    if admin.commune is not None:
        stmt = stmt.where(User.commune_id == admin.commune)
    return list(session.scalars(stmt))


def _target(session: Session, admin: Principal, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None or (admin.commune is not None and user.commune_id != admin.commune):
        raise domain.NotFound(f"Không có tài khoản {name!r}.")
    return user


def create_user(
    session: Session,
    admin: Principal,
    name: str,
    role: str,
    password: str,
    confirm: str,
    commune: str,
    address: str,
) -> User:
    """Create an account (the web form of `broadcast user add`); password policy as for the CLI."""
    require_admin(admin)
    if password != confirm:
        raise domain.Invalid("Hai lần nhập mật khẩu không khớp.")
    if commune == PROVINCE:
        if admin.commune is not None:
            raise domain.Forbidden("Chỉ quản trị cấp tỉnh mới tạo được tài khoản cấp tỉnh.")
        commune_id: str | None = None
    else:
        commune_id = choose_commune(session, admin, commune)
    user = accounts.add_user(session, name, role, password, commune_id)
    audit.record(session, admin.name, "user.add", f"user:{name}", address, role=role, commune=commune_id)
    return user


def set_disabled(session: Session, admin: Principal, name: str, disabled: bool, address: str) -> User:
    """Disable (ending every session and token at once) or enable an account of the admin's reach."""
    require_admin(admin)
    user = _target(session, admin, name)
    if user.id == admin.user_id and disabled:
        raise domain.Invalid("Không thể tự khoá tài khoản của chính mình.")
    if user.disabled != disabled:
        account_admin.set_disabled(session, admin.name, name, disabled, address)
    return user


def reset_password(session: Session, admin: Principal, name: str, address: str) -> str:
    """Give an account a new random password (shown once to the admin) and end its web sessions."""
    require_admin(admin)
    user = _target(session, admin, name)
    if user.id == admin.user_id:
        raise domain.Invalid("Đổi mật khẩu của chính mình ở trang Tài khoản (cần mật khẩu hiện tại).")
    for _ in range(5):  # a random 16-character password passes the policy unless it spells the name
        password = secrets.token_urlsafe(12)
        try:
            accounts.set_password(session, user, password)
            break
        except domain.Invalid:
            continue
    else:  # pragma: no cover - five random passwords all refused
        raise domain.Invalid("Không tạo được mật khẩu mới, hãy thử lại.")
    now = datetime.now(UTC)
    sessions = session.scalars(
        select(AuthToken).where(
            AuthToken.user_id == user.id, AuthToken.kind == "session", AuthToken.revoked_at.is_(None)
        )
    )
    ended = 0
    for token in sessions:
        token.revoked_at = now
        ended += 1
    audit.record(session, admin.name, "user.reset_password", f"user:{name}", address, sessions_ended=ended)
    return password


def commune_choices(session: Session, admin: Principal) -> list[tuple[str, str]]:
    """Return (value, label) of the communes a new account or zone may go to (province first, if allowed)."""
    choices = [(c.id, c.name or c.id) for c in tenancy.visible_communes(session, admin)]
    if admin.commune is None:
        choices.insert(0, (PROVINCE, "Cấp tỉnh (mọi xã)"))
    return choices
