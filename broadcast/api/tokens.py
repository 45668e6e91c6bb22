"""API tokens and web sessions of the caller (an admin: of the accounts they manage): list and revoke."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from broadcast.http.deps import SESSION_COOKIE, AddressDep, StationDep, UserDep
from broadcast.people import accounts
from broadcast.people import credentials as account_admin

router = APIRouter(prefix="/api/tokens", tags=["accounts"])


class TokenOut(BaseModel):
    id: int
    user: str
    kind: str = Field(description="api (mã truy cập) | session (phiên đăng nhập web)")
    state: str = Field(description="active | revoked | expired")
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    current: bool = Field(description="Mã / phiên đang dùng cho chính yêu cầu này")


class RevokedOut(BaseModel):
    revoked: int


def current_secret(request: Request) -> str:
    """Return the bearer token or session cookie this request is authenticated with."""
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and secret.strip():
        return secret.strip()
    return request.cookies.get(SESSION_COOKIE, "")


def _current_id(session: Session, request: Request) -> int | None:
    secret = current_secret(request)
    token = accounts.find_token(session, secret) if secret else None
    return token.id if token is not None else None


@router.get("")
def list_tokens(
    request: Request,
    station: StationDep,
    user: UserDep,
    owner: str | None = None,
    include_inactive: bool = False,
) -> list[TokenOut]:
    """List your tokens and sessions (an admin sees those of every account they manage; `owner` filters)."""
    now = datetime.now(UTC)
    with station.db.session() as session:
        current = _current_id(session, request)
        infos = account_admin.list_tokens(session, user, owner, include_inactive)
    return [
        TokenOut(
            id=t.id,
            user=t.user,
            kind=t.kind,
            state=t.state(now),
            created_at=t.created_at,
            expires_at=t.expires_at,
            revoked_at=t.revoked_at,
            current=t.id == current,
        )
        for t in infos
    ]


@router.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(token_id: int, station: StationDep, user: UserDep, address: AddressDep) -> None:
    """Revoke one token or session at once: its next request answers 401."""
    with station.db.session() as session:
        account_admin.revoke(session, user, user.name, token_id, address)


@router.delete("")
def revoke_all(
    request: Request,
    station: StationDep,
    user: UserDep,
    address: AddressDep,
    owner: str | None = None,
    keep_current: bool = False,
) -> RevokedOut:
    """Log an account out everywhere (default: yourself; `owner`: another account, admins only)."""
    with station.db.session() as session:
        keep = _current_id(session, request) if keep_current else None
        count = account_admin.logout_everywhere(session, user, user.name, owner or user.name, address, keep)
    return RevokedOut(revoked=count)
