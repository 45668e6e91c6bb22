"""The command outbox: every signed command gets a station-wide sequence number and a stored copy."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from broadcast import protocol
from broadcast.storage.models import Command

SEQ_COUNTER = "command_seq"
_BUMP = text("UPDATE counters SET value = value + 1 WHERE name = :name RETURNING value")
# Continue from the highest number issued if the row is missing (a database older than the counter).
_SEED = text(
    "INSERT INTO counters (name, value) SELECT :name, COALESCE(MAX(seq), 0) FROM commands WHERE true "
    "ON CONFLICT (name) DO NOTHING"
)


def bump_counter(connection: Connection | Session, name: str) -> int:
    """Add one to counter `name` and return the new value, atomically (creating the row if missing).

    The row lock of UPDATE ... RETURNING (SQLite >= 3.35, PostgreSQL) makes concurrent callers, in any
    process, queue for the next value instead of reading the same one.
    """
    value = connection.execute(_BUMP, {"name": name}).scalar_one_or_none()
    if value is None:
        connection.execute(_SEED, {"name": name})  # a concurrent seeder wins harmlessly
        value = connection.execute(_BUMP, {"name": name}).scalar_one()
    return int(value)


def next_seq(session: Session) -> int:
    """Return the next sequence number (agents use it, with the id, to refuse replays).

    On PostgreSQL the number is taken in its own short transaction: holding the counter's row lock until
    the caller's (possibly long) transaction commits would serialise every command issuer behind it and
    can deadlock against other rows that transaction locks. A rolled-back caller leaves a gap, which is
    harmless: numbers must be distinct and increasing, not dense. SQLite has one writer at a time anyway,
    and a second connection would wait on the caller's own write lock, so it bumps in the caller's
    transaction.
    """
    bind = session.get_bind()
    if bind.dialect.name == "sqlite":
        return bump_counter(session, SEQ_COUNTER)
    engine = bind.engine if isinstance(bind, Connection) else bind
    with engine.begin() as connection:
        return bump_counter(connection, SEQ_COUNTER)


def store_signed(
    session: Session,
    body: dict[str, Any],
    signing_key: bytes,
    *,
    start_at: datetime,
    slot_id: int | None = None,
    bulletin_id: int | None = None,
    kind: str = "play",
) -> Command:
    """Sign a command body (which carries its id, seq and zones) and keep it in the outbox."""
    row = Command(
        id=body["id"],
        seq=body["seq"],
        kind=kind,
        slot_id=slot_id,
        bulletin_id=bulletin_id,
        start_at=start_at,
        zones=list(body["zones"]),
        payload=protocol.sign_body(body, signing_key).decode(),
    )
    session.add(row)
    return row


class Publisher(Protocol):
    """What sending a signed command needs from the MQTT side (the station's MQTT client)."""

    def publish(
        self, topic: str, payload: bytes, *, expiry_s: float, retain: bool = False, wait: float = 5.0
    ) -> None: ...
