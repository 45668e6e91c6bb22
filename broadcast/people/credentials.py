"""Account administration: list and revoke API tokens and web sessions, log out, disable, change password.

Every change is audited in the caller's transaction. `viewer` is the signed-in caller whose reach is
checked (their own tokens; an admin also those of the accounts they manage); None is the operator at the
station's console (the CLI), who reaches everything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from broadcast import domain
from broadcast.people import accounts, audit
from broadcast.people.accounts import Principal
from broadcast.storage.models import AuthToken, User

KIND_LABELS = {"api": "Mã truy cập API", "session": "Phiên đăng nhập web"}


@dataclass(frozen=True)
class TokenInfo:
    """A token or session as shown to people: never its secret (only a hash of it is stored anyway)."""

    id: int
    user: str
    kind: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def state(self, now: datetime | None = None) -> str:
        """Return "active", "revoked" or "expired"."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at < (now or datetime.now(UTC)):
            return "expired"
        return "active"


def _info(token: AuthToken, user: User) -> TokenInfo:
    return TokenInfo(token.id, user.name, token.kind, token.created_at, token.expires_at, token.revoked_at)


def _user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise domain.NotFound(f"Không có tài khoản {name!r}.")
    return user


def can_manage(viewer: Principal | None, user: User) -> bool:
    """Return True if `viewer` may see and revoke `user`'s tokens (self, an admin of their commune, CLI)."""
    if viewer is None or viewer.user_id == user.id:
        return True
    if viewer.role != domain.Role.ADMIN:
        return False
    return viewer.commune is None or viewer.commune == user.commune_id


def _scoped(query: Select[AuthToken, User], viewer: Principal | None) -> Select[AuthToken, User]:
    if viewer is None:
        return query
    if viewer.role != domain.Role.ADMIN:
        return query.where(User.id == viewer.user_id)
    if viewer.commune is not None:
        return query.where((User.commune_id == viewer.commune) | (User.id == viewer.user_id))
    return query


def list_tokens(
    session: Session, viewer: Principal | None, user_name: str | None = None, include_inactive: bool = False
) -> list[TokenInfo]:
    """Return the tokens and sessions `viewer` may see, newest first (live ones only unless asked)."""
    query = select(AuthToken, User).join(User, User.id == AuthToken.user_id)
    query = _scoped(query, viewer).order_by(AuthToken.id.desc())
    if user_name is not None:
        query = query.where(User.name == user_name)
    now = datetime.now(UTC)
    infos = [_info(token, user) for token, user in session.execute(query)]
    return [t for t in infos if include_inactive or t.state(now) == "active"]


def revoke(session: Session, viewer: Principal | None, actor: str, token_id: int, address: str) -> TokenInfo:
    """Revoke one token or session by id; one the viewer may not manage is reported as not found."""
    row = session.execute(
        select(AuthToken, User).join(User, User.id == AuthToken.user_id).where(AuthToken.id == token_id)
    ).first()
    if row is None or not can_manage(viewer, row[1]):
        raise domain.NotFound(f"Không có mã truy cập / phiên số {token_id}.")
    token, user = row
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)
        audit.record(
            session, actor, "token.revoke", f"user:{user.name}", address, token=token.id, kind=token.kind
        )
    return _info(token, user)


def _revoke_all(session: Session, user: User, keep: Iterable[int] = ()) -> int:
    now = datetime.now(UTC)
    kept = set(keep)
    tokens = session.scalars(
        select(AuthToken).where(AuthToken.user_id == user.id, AuthToken.revoked_at.is_(None))
    )
    count = 0
    for token in tokens:
        if token.id not in kept:
            token.revoked_at = now
            count += 1
    return count


def logout_everywhere(
    session: Session,
    viewer: Principal | None,
    actor: str,
    user_name: str,
    address: str,
    keep: int | None = None,
) -> int:
    """Revoke every API token and web session of an account (except `keep`); return how many."""
    user = _user(session, user_name)
    if not can_manage(viewer, user):
        raise domain.Forbidden("Chỉ quản trị viên mới được đăng xuất tài khoản khác.")
    count = _revoke_all(session, user, [keep] if keep is not None else [])
    audit.record(session, actor, "user.logout_all", f"user:{user.name}", address, revoked=count)
    return count


def set_disabled(session: Session, actor: str, user_name: str, disabled: bool, address: str) -> int:
    """Disable an account (revoking all it holds; return how many) or enable it again (returns 0)."""
    user = _user(session, user_name)
    user.disabled = disabled
    count = _revoke_all(session, user) if disabled else 0
    action = "user.disable" if disabled else "user.enable"
    audit.record(session, actor, action, f"user:{user.name}", address, revoked=count)
    return count


def change_password(
    session: Session, principal: Principal, old: str, new: str, address: str, current_secret: str = ""
) -> int:
    """Change the caller's own password; every other session and token is revoked. Return how many."""
    if accounts.authenticate(session, principal.name, old) is None:
        raise domain.Forbidden("Mật khẩu hiện tại không đúng.")
    if old == new:
        raise domain.Invalid("Mật khẩu mới phải khác mật khẩu hiện tại.")
    user = _user(session, principal.name)
    accounts.set_password(session, user, new)
    current = accounts.find_token(session, current_secret) if current_secret else None
    count = _revoke_all(session, user, [current.id] if current is not None else [])
    audit.record(session, principal.name, "user.password", f"user:{user.name}", address, revoked=count)
    return count


def reset_password(session: Session, actor: str, user_name: str, password: str, address: str) -> int:
    """Set an account's password from the console (forgotten password); everything it held is revoked."""
    user = _user(session, user_name)
    accounts.set_password(session, user, password)
    count = _revoke_all(session, user)
    audit.record(session, actor, "user.password_reset", f"user:{user.name}", address, revoked=count)
    return count
