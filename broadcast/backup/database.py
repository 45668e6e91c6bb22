"""The database side of a backup: a consistent copy out, and back in, for SQLite and PostgreSQL.

SQLite: the sqlite3 online backup API copies every page in one step under one read transaction, so the
copy is the database at one instant while the station keeps writing (WAL readers do not block writers).
PostgreSQL: `pg_dump -Fc` run with the snapshot of an open REPEATABLE READ transaction, and the row counts
taken in that same transaction, so the manifest's counts describe exactly what the dump holds; restored
with `pg_restore --single-transaction` into an empty database (all or nothing).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from sqlalchemy import Connection, create_engine, inspect, make_url, text
from sqlalchemy.pool import NullPool

from broadcast.backup.manifest import DatabaseKind
from broadcast.storage.db import sqlite_path


class DatabaseBackupError(RuntimeError):
    """The database cannot be copied or restored (tool missing, tool failed, target not empty)."""


def kind_of(url: str) -> DatabaseKind:
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return "sqlite"
    if backend == "postgresql":
        return "postgresql"
    raise DatabaseBackupError(f"backups know SQLite and PostgreSQL, not {backend}")


def find_tool(name: str) -> str:
    """Return the path of `pg_dump`/`pg_restore`: on PATH, else the newest /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: p.parts[-3].zfill(4))
    if versions:
        return str(versions[-1])
    raise DatabaseBackupError(
        f"{name} not found: install the PostgreSQL client tools (Debian: apt install postgresql-client) "
        "in the version of the server or newer"
    )


def _libpq_env(url: str) -> dict[str, str]:
    """Return the PG* variables for `url`: the password never appears on a command line."""
    parsed = make_url(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    for var, value in (
        ("PGHOST", parsed.host or str(parsed.query.get("host") or "")),
        ("PGPORT", str(parsed.port or "")),
        ("PGUSER", parsed.username or ""),
        ("PGPASSWORD", parsed.password or ""),
        ("PGDATABASE", parsed.database or ""),
        ("PGSSLMODE", str(parsed.query.get("sslmode") or "")),
    ):
        if value:
            env[var] = value
    env["PGCONNECT_TIMEOUT"] = "10"
    return env


def _run(argv: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise DatabaseBackupError(f"{what} failed ({result.returncode}): {result.stderr.strip()[-800:]}")


def table_counts(connection: Connection) -> dict[str, int]:
    """Return the number of rows of every table (alembic's own table included)."""
    names = sorted(inspect(connection).get_table_names())
    quote = connection.dialect.identifier_preparer.quote
    return {n: int(connection.execute(text(f"SELECT count(*) FROM {quote(n)}")).scalar_one()) for n in names}  # noqa: S608


def revision(connection: Connection) -> str | None:
    """Return the alembic revision the database is at (None: never migrated)."""
    if "alembic_version" not in inspect(connection).get_table_names():
        return None
    value = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return None if value is None else str(value)


@contextmanager
def _connect(url: str, *, isolation: str | None = None) -> Iterator[Connection]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        connection = engine.connect()
        if isolation:
            connection = connection.execution_options(isolation_level=isolation)
        with connection:
            yield connection
    finally:
        engine.dispose()


def dump(url: str, target: Path) -> tuple[dict[str, int], str | None]:
    """Write a consistent copy of the database to `target`; return its row counts and revision."""
    if kind_of(url) == "sqlite":
        return _copy_sqlite(url, target)
    pg_dump = find_tool("pg_dump")
    with _connect(url, isolation="REPEATABLE READ") as connection, connection.begin():
        snapshot = str(connection.execute(text("SELECT pg_export_snapshot()")).scalar_one())
        counts, rev = table_counts(connection), revision(connection)
        _run([pg_dump, "-Fc", "--snapshot", snapshot, "-f", str(target)], _libpq_env(url), "pg_dump")
    return counts, rev


def _copy_sqlite(url: str, target: Path) -> tuple[dict[str, int], str | None]:
    source = sqlite_path(url)
    if source is None or not source.is_file():
        raise DatabaseBackupError(f"no SQLite database at {source}")
    with (
        closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)) as src,
        closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)  # pages=-1: every page in one step, one read transaction: one instant
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    os.chmod(target, 0o600)
    return inspect_file(target)


def inspect_file(path: Path) -> tuple[dict[str, int], str | None]:
    """Return row counts and revision of a SQLite file (checked with quick_check first)."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as check:
        verdict = check.execute("PRAGMA quick_check").fetchone()
    if not verdict or verdict[0] != "ok":
        raise DatabaseBackupError(f"the SQLite copy fails its integrity check: {verdict}")
    with _connect(f"sqlite:///{path.resolve()}") as connection:
        return table_counts(connection), revision(connection)


def database_counts(url: str) -> tuple[dict[str, int], str | None]:
    with _connect(url) as connection:
        return table_counts(connection), revision(connection)


def clip_names(url: str) -> list[str]:
    """Return the sha256 of every clip the database knows (its `clips` table)."""
    with _connect(url) as connection:
        return [str(r[0]) for r in connection.execute(text("SELECT sha256 FROM clips"))]


def tables_in(url: str) -> list[str]:
    """Return the tables of a database (empty list: an empty database, or a SQLite file not there)."""
    path = sqlite_path(url)
    if path is not None and not path.exists():
        return []
    with _connect(url) as connection:
        return sorted(inspect(connection).get_table_names())


def restore_postgres(url: str, source: Path) -> None:
    """Load a pg_dump archive into the (empty) database of `url` in one transaction."""
    pg_restore = find_tool("pg_restore")
    argv = [pg_restore, "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges"]
    env = _libpq_env(url)
    _run([*argv, "-d", env.get("PGDATABASE", ""), str(source)], env, "pg_restore")


def check_postgres_archive(source: Path) -> None:
    """Raise DatabaseBackupError unless pg_restore can read the archive's table of contents."""
    _run([find_tool("pg_restore"), "--list", str(source)], dict(os.environ), "pg_restore --list")


def empty_postgres(url: str) -> None:
    """Undo a load into the (previously empty) database: drop and recreate its public schema."""
    engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()
