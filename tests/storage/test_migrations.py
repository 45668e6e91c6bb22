"""Migrations build exactly the schema the models describe, and are idempotent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import StatementError

from broadcast.storage.db import Database, migrate
from broadcast.storage.models import Base, User


def test_migrated_schema_matches_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    migrate(url)
    migrate(url)  # a second run is a no-op
    db = Database(url)
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    db.dispose()
    assert diff == []


def test_datetimes_come_back_aware_utc(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    migrate(url)
    db = Database(url)
    local = datetime(2026, 5, 15, 7, 30, tzinfo=timezone(timedelta(hours=7)))
    with db.session() as session:
        session.add(User(name="a", role="editor", password_hash="x", created_at=local))
    with db.session() as session:
        user = session.query(User).one()
        assert user.created_at == local
        assert user.created_at.tzinfo == UTC
    naive = User(name="b", role="editor", password_hash="x", created_at=datetime(2026, 1, 1))

    def store_naive() -> None:
        with db.session() as session:
            session.add(naive)

    with pytest.raises(StatementError, match="naive"):
        store_naive()
    with db.session() as session:
        assert session.query(User).count() == 1  # the failed transaction stored nothing
    db.dispose()
