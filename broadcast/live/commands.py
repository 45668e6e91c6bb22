"""The signed commands of a live session: live_start (join, and every renewal of the lease) and live_stop.

Each is kept in the command outbox like every other command and published on the session's zone topics.
Their ids share the session's prefix ("live-…-00007"), so the outbox reads as the session's history.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from broadcast import metrics, protocol
from broadcast.signing import commands
from broadcast.signing.commands import Publisher
from broadcast.storage.models import Command

_EXPIRY_S = 10.0  # a stop or a start that arrives later than this is worth nothing


@dataclass(frozen=True)
class StreamAddress:
    """Where agents reach the live stream, and the bounds they leave by."""

    host: str
    port: int
    lease_s: float
    silence_s: float


def start_command(
    session: Session,
    key: bytes,
    session_id: str,
    number: int,
    zones: list[str],
    address: StreamAddress,
    title: str,
) -> Command:
    """Sign and store the `number`-th live_start of a session (0: the start, then the renewals)."""
    now = time.time()
    command = protocol.LiveStartCommand(
        id=f"{session_id}-{number:05d}",
        seq=commands.next_seq(session),
        issued_at=now,
        expires_at=now + min(_EXPIRY_S, address.lease_s),
        zones=tuple(zones),
        session_id=session_id,
        host=address.host,
        port=address.port,
        lease_until=now + address.lease_s,
        silence_s=address.silence_s,
        title=title,
    )
    return commands.store_signed(
        session, command.to_body(), key, start_at=datetime.now(UTC), kind="live_start"
    )


def stop_command(session: Session, key: bytes, session_id: str, zones: list[str], reason: str) -> Command:
    now = time.time()
    command = protocol.LiveStopCommand(
        id=f"{session_id}-stop",
        seq=commands.next_seq(session),
        issued_at=now,
        expires_at=now + _EXPIRY_S,
        zones=tuple(zones),
        session_id=session_id,
        reason=reason,
    )
    return commands.store_signed(
        session, command.to_body(), key, start_at=datetime.now(UTC), kind="live_stop"
    )


def publish(publisher: Publisher, row: Command, wait: float = 2.0) -> None:
    """Publish a stored command on each of its zones (QoS 1, expiring like the command)."""
    for zone in row.zones:
        with metrics.publish_timer(row.kind):
            publisher.publish(
                protocol.zone_command_topic(zone), row.payload.encode(), expiry_s=_EXPIRY_S, wait=wait
            )
