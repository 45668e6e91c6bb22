"""Engine and session factory; schema managed by Alembic migrations shipped in the package."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

_HERE = Path(__file__).resolve().parent


def sqlite_path(url: str) -> Path | None:
    """Return the file of a SQLite URL, or None (another database, or in memory)."""
    parsed = make_url(url)
    name = parsed.database
    if (
        not parsed.drivername.startswith("sqlite")
        or not name
        or name == ":memory:"
        or name.startswith("file:")
    ):
        return None
    return Path(name)


def make_private(url: str) -> None:
    """Create a SQLite database file 0600 before SQLite does, and make an existing one and its WAL private.

    SQLite gives the -wal and -shm files the mode of the database file, so creating it 0600 first keeps
    accounts, tokens and the audit log unreadable to other local users whatever the umask.
    """
    path = sqlite_path(url)
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for suffix in ("", "-wal", "-shm", "-journal"):
        with suppress(FileNotFoundError):
            os.chmod(path.with_name(path.name + suffix), 0o600)


def make_engine(url: str) -> Engine:
    """Return an engine; SQLite gets WAL and a busy timeout so the API and scheduler threads coexist."""
    if url.startswith("sqlite"):
        make_private(url)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_HERE / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Bring the database schema to the newest migration."""
    make_private(url)
    command.upgrade(alembic_config(url), "head")


class Database:
    """The station's engine plus a transactional session scope."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Yield a session that commits on success and rolls back on any error (nothing half-stored)."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
