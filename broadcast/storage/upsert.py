"""INSERT with ON CONFLICT clauses for the two databases the station runs on."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from broadcast.storage.models import Base


def conflict_insert(session: Session, table: type[Base]) -> postgresql.Insert | sqlite.Insert:
    """Return the dialect's INSERT, which has on_conflict_do_nothing / on_conflict_do_update."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
