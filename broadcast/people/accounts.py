"""Accounts, passwords (argon2id), API tokens and web sessions."""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcast import domain
from broadcast.storage.models import AuthToken, Commune, User

# Argon2id with the library's default cost (RFC 9106's low-memory profile: 64 MiB, 3 passes, ~0.2 s of
# CPU per hash). CHEAP_HASHES_ENV=1 is for the test suite only (tests/conftest.py sets it): the same
# algorithm at the library's cheapest parameters, so the suite's thousand-odd logins and accounts cost
# seconds instead of minutes. Hashes record their parameters, so either kind verifies under the other;
# a station started with it says so loudly (cheap_hashes_warning).
CHEAP_HASHES_ENV = "BROADCAST_TEST_CHEAP_HASHES"
_cheap = os.environ.get(CHEAP_HASHES_ENV) == "1"
_hasher = PasswordHasher.from_parameters(profiles.CHEAPEST) if _cheap else PasswordHasher()


def cheap_hashes_warning() -> str | None:
    """Return the warning a station must print when passwords are hashed at the test suite's cost."""
    if not _cheap:
        return None
    return f"{CHEAP_HASHES_ENV}=1: passwords are hashed at test cost; never set it on a real station"


@cache
def _dummy_hash() -> str:
    """Return a hash to verify unknown user names against, so they take as long as known ones.

    Made on first use, not at import: an Argon2 hash costs ~0.2 s of CPU, which every CLI command and
    every station start would otherwise pay.
    """
    return _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Principal:
    """Who is making a request."""

    user_id: int
    name: str
    role: str
    commune: str | None = None  # None: a province account that sees every commune

    @property
    def is_province(self) -> bool:
        return self.commune is None


def _principal(user: User) -> Principal:
    return Principal(user.id, user.name, user.role, user.commune_id)


def _token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def add_user(session: Session, name: str, role: str, password: str, commune: str | None = None) -> User:
    """Create an account for one commune (or, with commune None, for the whole province).

    Refuses duplicate names, unknown roles, unknown communes and weak passwords.
    """
    domain.check_user_name(name)
    if role not in {r.value for r in domain.Role}:
        raise domain.Invalid(f"Vai trò không hợp lệ: {role!r} (editor / approver / admin).")
    if commune is not None and session.get(Commune, commune) is None:
        raise domain.Invalid(f"Không có xã {commune!r} (thêm bằng «broadcast commune add»).")
    domain.check_password_strength(password, name)
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise domain.Conflict(f"Tài khoản {name!r} đã tồn tại.")
    user = User(name=name, role=role, password_hash=_hasher.hash(password), commune_id=commune)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, name: str, password: str) -> Principal | None:
    """Return the principal if name + password are right and the account is active."""
    user = session.scalar(select(User).where(User.name == name))
    try:
        if user is None:
            _hasher.verify(_dummy_hash(), password)
            return None
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if user.disabled:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return _principal(user)


def issue_token(
    session: Session, user_name: str, kind: str = "api", lifetime: timedelta | None = None
) -> str:
    """Create a bearer token (or session id) for the user and return its secret (shown once)."""
    user = session.scalar(select(User).where(User.name == user_name))
    if user is None or user.disabled:
        raise domain.NotFound(f"Không có tài khoản {user_name!r}.")
    secret = secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + lifetime if lifetime else None
    session.add(AuthToken(token_hash=_token_hash(secret), kind=kind, user_id=user.id, expires_at=expires))
    session.flush()
    return secret


def principal_for_token(session: Session, secret: str, kind: str) -> Principal | None:
    """Return who owns a live token of this kind, or None."""
    row = session.execute(
        select(AuthToken, User)
        .join(User, User.id == AuthToken.user_id)
        .where(AuthToken.token_hash == _token_hash(secret), AuthToken.kind == kind)
    ).first()
    if row is None:
        return None
    token, user = row
    now = datetime.now(UTC)
    if token.revoked_at is not None or user.disabled or (token.expires_at and token.expires_at < now):
        return None
    return _principal(user)


def revoke_token(session: Session, secret: str) -> None:
    """Revoke a token or end a session."""
    token = session.scalar(select(AuthToken).where(AuthToken.token_hash == _token_hash(secret)))
    if token is not None and token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)


def find_token(session: Session, secret: str) -> AuthToken | None:
    """Return the stored row of a token or session secret, live or not."""
    return session.scalar(select(AuthToken).where(AuthToken.token_hash == _token_hash(secret)))


def set_password(session: Session, user: User, password: str) -> None:
    """Store a new password (policy-checked); the caller decides which sessions survive."""
    domain.check_password_strength(password, user.name)
    user.password_hash = _hasher.hash(password)
