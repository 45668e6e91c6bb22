"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL, and are idempotent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.exc import StatementError

from broadcast.storage.db import Database, alembic_config, migrate
from broadcast.storage.models import AuditEntry, Base, User


def _schema_diff(url: str) -> list[object]:
    db = Database(url)
    try:
        with db.engine.connect() as connection:
            return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))
    finally:
        db.dispose()


def test_migrated_schema_matches_models(database_url: str) -> None:
    migrate(database_url)
    migrate(database_url)  # a second run is a no-op
    assert _schema_diff(database_url) == []


def test_every_migration_downgrades_and_upgrades_again(database_url: str) -> None:
    migrate(database_url)
    command.downgrade(alembic_config(database_url), "base")
    db = Database(database_url)
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    db.dispose()
    migrate(database_url)
    assert _schema_diff(database_url) == []


def test_datetimes_come_back_aware_utc(database_url: str) -> None:
    migrate(database_url)
    db = Database(database_url)
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


def test_json_documents_round_trip_and_compare(database_url: str) -> None:
    migrate(database_url)
    db = Database(database_url)
    detail = {"zones": ["thôn-1", "xóm 2"], "lặp": 3, "nested": {"ok": True}}
    with db.session() as session:
        session.add_all(
            [
                AuditEntry(actor="a", action="x", detail=detail),
                AuditEntry(actor="a", action="x", detail=detail),
            ]
        )
    with db.session() as session:
        # DISTINCT over a JSON column needs an equality operator: jsonb has one, PostgreSQL json not.
        rows = session.execute(select(AuditEntry.action, AuditEntry.detail).distinct()).all()
    assert rows == [("x", detail)]
    db.dispose()
