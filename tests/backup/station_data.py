"""A station's data directory with real contents (accounts, audit, signed commands, clips, keys, CA) for
backup tests, and the ways to compare two of them."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, select, table, text
from sqlalchemy.pool import NullPool

from broadcast.clipstore.store import LocalClipStore
from broadcast.config import Settings
from broadcast.mqtt import tls
from broadcast.people import accounts, audit
from broadcast.signing.keys import StationKeys
from broadcast.storage.db import Database, migrate
from tests.test_commands_seq import issue  # one signed command, as the station issues it

PASSPHRASE = "trâu-vàng-đồng-lúa 2026"  # non-ASCII on purpose: the officer's own words


def station_settings(data_dir: Path, database_url: str | None = None, **extra: Any) -> Settings:
    """Return settings of a station on `data_dir` (its own SQLite unless `database_url`)."""
    return Settings(data_dir=data_dir, database_url=database_url, **extra)


def populate(settings: Settings, *, users: int = 3, commands_issued: int = 5, clips: int = 4) -> list[str]:
    """Fill the station's database, clip store and secrets; return the clip sha256s."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.database)
    keys = StationKeys(settings.secrets_dir)
    signing = keys.signing_key_raw()
    keys.web_secret()
    keys.broker_password()
    ca = tls.ensure_ca(tls.station_ca_dir(settings.secrets_dir))
    tls.ensure_server_cert(ca, settings.secrets_dir / "https", ["localhost", "127.0.0.1"])
    (settings.data_dir / "agent_url").write_text("http://10.0.0.5:8080\n", encoding="utf-8")
    db = Database(settings.database)
    try:
        with db.session() as session:
            for n in range(users):
                accounts.add_user(session, f"officer{n}", "editor", f"Cot-loa-{n}-ben-song-Hong")
                audit.record(session, "cli", "user.add", f"user:officer{n}", "cli", note="xã An Bình")
        for _ in range(commands_issued):
            issue(db, signing)
    finally:
        db.dispose()
    store = LocalClipStore(settings.clips_dir)
    return [store.put(b"ID3" + secrets.token_bytes(2000 + n)) for n in range(clips)]


def rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Return every row of every table, sorted (the database's whole content)."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            out = {}
            for name in sorted(inspect(connection).get_table_names()):
                result = connection.execute(select(text("*")).select_from(table(name)))
                out[name] = sorted((tuple(r) for r in result), key=repr)
            return out
    finally:
        engine.dispose()


def files(directory: Path) -> dict[str, tuple[bytes, int]]:
    """Return every file under `directory` with its bytes and permission bits."""
    if not directory.exists():
        return {}
    return {
        p.relative_to(directory).as_posix(): (p.read_bytes(), os.stat(p).st_mode & 0o777)
        for p in sorted(directory.rglob("*"))
        if p.is_file() and not p.name.startswith(".")  # lock files: empty, made again on use
    }


def tree(directory: Path) -> dict[str, bytes]:
    """Return the whole tree (names and bytes), to show that a refused restore changed nothing."""
    if not directory.exists():
        return {}
    return {
        p.relative_to(directory).as_posix(): p.read_bytes() if p.is_file() else b"<dir>"
        for p in sorted(directory.rglob("*"))
    }
