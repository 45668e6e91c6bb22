"""The database a CLI command works on: migrated to the newest schema first, in the configured data dir."""

from __future__ import annotations

from typing import TYPE_CHECKING

from broadcast.config import Settings

if TYPE_CHECKING:
    from broadcast.storage.db import Database


def open_database(settings: Settings) -> Database:
    """Create the data dir if needed, migrate the database and return it (SQLAlchemy imported late)."""
    from broadcast.storage.db import Database, migrate

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.database)
    return Database(settings.database)
