"""The database backend under test: SQLite files by default, fresh PostgreSQL databases on request.

`TEST_DATABASE=postgresql` runs the suite against the server at `TEST_DATABASE_SERVER` (default
postgresql+psycopg://postgres@127.0.0.1:5432): every test that asks for a database gets its own
`test_<random>` database, dropped after the test.
"""

from __future__ import annotations

import os
import secrets
import shutil
import threading
from pathlib import Path
from typing import Literal

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

Backend = Literal["sqlite", "postgresql"]

BACKEND_ENV = "TEST_DATABASE"
SERVER_ENV = "TEST_DATABASE_SERVER"
DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
PREFIX = "test_"

_lock = threading.Lock()
_created: list[str] = []
_templates: dict[Backend, str] = {}  # one migrated database per test process, copied for each test


def backend() -> Backend:
    """Return the backend the suite runs against (env TEST_DATABASE, default sqlite)."""
    value = os.environ.get(BACKEND_ENV, "sqlite").strip().lower() or "sqlite"
    if value in ("postgres", "postgresql", "pg"):
        return "postgresql"
    if value != "sqlite":
        raise ValueError(f"{BACKEND_ENV} must be sqlite or postgresql, not {value!r}")
    return "sqlite"


def server_url(database: str = "postgres") -> URL:
    """Return the URL of one database on the PostgreSQL test server."""
    return make_url(os.environ.get(SERVER_ENV, DEFAULT_SERVER)).set(database=database)


def _render(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def _admin_execute(statement: str) -> None:
    # CREATE/DROP DATABASE cannot run inside a transaction block.
    engine = create_engine(server_url(), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


def server_answers() -> bool:
    """Return True if the PostgreSQL test server accepts a connection."""
    engine = create_engine(server_url(), poolclass=NullPool, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:  # any failure means "no usable server"
        return False
    finally:
        engine.dispose()
    return True


def create_postgres_database() -> str:
    """Create an empty `test_<random>` database and return its URL (dropped by drop_created)."""
    name = f"{PREFIX}{secrets.token_hex(6)}"
    _admin_execute(f'CREATE DATABASE "{name}"')
    with _lock:
        _created.append(name)
    return _render(server_url(name))


def drop_postgres_database(url: str) -> None:
    """Drop a test database, ending any session a killed station process left behind."""
    name = make_url(url).database
    if not name or not name.startswith(PREFIX):
        raise ValueError(f"refusing to drop {name!r}: not a test database")
    _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    with _lock:
        if name in _created:
            _created.remove(name)


def created_count() -> int:
    """Return how many test databases exist now (a mark for drop_created_since)."""
    with _lock:
        return len(_created)


def drop_created_since(mark: int) -> None:
    """Drop every test database created after `mark`, newest first."""
    with _lock:
        names = list(reversed(_created[mark:]))
    for name in names:
        drop_postgres_database(_render(server_url(name)))


def fresh_database_url(directory: Path) -> str:
    """Return the URL of a new empty database of the backend under test."""
    if backend() == "postgresql":
        return create_postgres_database()
    directory.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(directory / f'test-{secrets.token_hex(4)}.db').resolve()}"


def station_database_url() -> str | None:
    """Return a database URL for a station process: None (its own SQLite) or a fresh PostgreSQL one."""
    return create_postgres_database() if backend() == "postgresql" else None


def _migrated_template(directory: Path) -> str:
    """Return this process's migrated template database, migrating it on first use."""
    from broadcast.storage.db import migrate

    with _lock:
        if (known := _templates.get(backend())) is not None:
            return known
    if backend() == "postgresql":
        name = f"{PREFIX}template_{secrets.token_hex(6)}"
        _admin_execute(f'CREATE DATABASE "{name}"')
        url = _render(server_url(name))
    else:
        directory.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{(directory / 'template.db').resolve()}"
    migrate(url)
    with _lock:
        _templates[backend()] = url
    return url


def drop_templates() -> None:
    """Drop this process's template databases (at the end of the session, after every copy)."""
    with _lock:
        urls = list(_templates.values())
        _templates.clear()
    for url in urls:
        if make_url(url).get_backend_name() == "postgresql":
            _admin_execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def migrated_database_url(directory: Path, template_dir: Path) -> str:
    """Return a new database already at the newest migration (a copy: migrating each time costs ~0.5 s)."""
    template = _migrated_template(template_dir)
    if backend() == "postgresql":
        name = f"{PREFIX}{secrets.token_hex(6)}"
        _admin_execute(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(template).database}"')
        with _lock:
            _created.append(name)
        return _render(server_url(name))
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"test-{secrets.token_hex(4)}.db"
    shutil.copyfile(make_url(template).database or "", target)
    return f"sqlite:///{target.resolve()}"
