"""Audit log: who did what, to what, from where."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from broadcast.storage.models import AuditEntry


def record(
    session: Session, actor: str, action: str, target: str = "", address: str = "", **detail: Any
) -> None:
    """Add an audit entry in the caller's transaction (so it commits or rolls back with the change)."""
    session.add(AuditEntry(actor=actor, action=action, target=target, address=address[:64], detail=detail))
