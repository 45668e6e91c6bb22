"""Numbers continue after a restore: agents never see a restored station reuse a number they accepted.

Agents refuse replays by three numbers that only grow, each kept by the station apart from the agents:
- the command sequence number (the `command_seq` counter; an agent refuses a number it accepted, or one
  WINDOW=4096 below the highest it accepted, edge_agent/sequence.py);
- each zone's programme version (`zone_programmes.version`; an agent keeps a programme only if newer);
- the key-update serial (`signing_keys.json`; an agent takes a key update only if its serial is newer).

A backup cannot know the numbers issued after it was taken, and agents are never touched by a restore.
So the restore raises every number by a skip, computed from what it does know:

    raised(value) = max(value, clock_floor(now), clock_floor(backup_created_at)) + SKIP

where clock_floor(t) is the whole seconds since 2024-01-01 UTC. The result is above every number issued
before the crash when EITHER of these holds, and one is enough:
1. fewer than SKIP (one million) numbers were issued between the backup and the crash. A commune signs a
   few hundred commands and a few dozen programme versions a day: a backup over ten years old still
   qualifies. This needs no clock at all;
2. the clock is right: every earlier number was at most its issue time's floor plus SKIP (that is how a
   number ever got above the counter: by an earlier restore), plus the commands since, which run at far
   less than one per second. A wrong clock on the new machine only matters when 1 fails too, and the
   backup's own time stands in for a clock that is behind it.

Why not the alternatives. A high-water mark in a file beside the database lives in the same data
directory the dead disk took, and its backed-up copy knows no more than the database. Learning the
highest number from agents' heartbeats comes too late: the first start republishes programmes and may
send alerts before any agent has reported, and an agent offline during the restore reports nothing.
The skip costs little: numbers need to be increasing, not dense, and the columns hold 2**31-1: room for
some two thousand restores (the clock floor alone reaches it in 2092).

Runs inside `broadcast restore` (`after_restore`, called by broadcast/backup/restore.py on the restored,
migrated, not yet started data directory), so no station process can sign in between. It also clears
each zone's programme digest, so the first start republishes every zone (under the raised version).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcast import protocol
from broadcast.backup.manifest import Manifest
from broadcast.config import Settings
from broadcast.signing import key_rotation
from broadcast.signing.commands import SEQ_COUNTER
from broadcast.storage.db import Database
from broadcast.storage.files import write_atomic
from broadcast.storage.models import Command, Counter, ZoneProgramme

__all__ = ["SKIP", "after_restore", "backup_facts", "clock_floor", "raise_numbers", "raised"]

SKIP = 1_000_000
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
INT32_MAX = 2**31 - 1  # commands.seq and zone_programmes.version are 32-bit INTEGER on PostgreSQL


def clock_floor(moment: datetime) -> int:
    """Return the whole seconds from 2024-01-01 UTC to `moment` (0 for a clock set before it)."""
    return max(0, int((moment - EPOCH).total_seconds()))


def raised(value: int, now: datetime, backup_created: datetime | None = None) -> int:
    """Return the number a restored station continues from, given the highest it knows (`value`).

    Raises ValueError if the result no longer fits the database column (a clock decades ahead).
    """
    floors = [value, clock_floor(now)]
    if backup_created is not None:
        floors.append(clock_floor(backup_created))
    result = max(floors) + SKIP
    if result > INT32_MAX:
        raise ValueError(
            f"cannot continue numbering at {result}, above {INT32_MAX}: is the clock right ({now:%Y-%m-%d})?"
        )
    return result


def _facts(session: Session) -> dict[str, int]:
    counter = session.get(Counter, SEQ_COUNTER)
    highest_command = session.scalar(select(func.max(Command.seq))) or 0
    return {
        "command_seq": max(counter.value if counter else 0, int(highest_command)),
        "programme_version": int(session.scalar(select(func.max(ZoneProgramme.version))) or 0),
    }


def backup_facts(settings: Settings, database_url: str) -> dict[str, object]:
    """Return the numbers a backup records in its manifest (extra["command_seq"]), for the restore to see."""
    db = Database(database_url)
    try:
        with db.session() as session:
            facts: dict[str, object] = dict(_facts(session))
    finally:
        db.dispose()
    ring = key_rotation.load_keyring(settings.secrets_dir)
    facts["key_serial"] = ring.serial if ring is not None else 0
    return facts


def raise_numbers(session: Session, now: datetime, backup_created: datetime | None, known: int = 0) -> int:
    """Raise the command counter and every zone's programme version; return the next command number - 1.

    `known` is a command number recorded elsewhere (the manifest) that the database may not show.
    Every zone's digest and publication time are cleared, so the next refresh republishes it.
    """
    high = max(_facts(session)["command_seq"], known)
    seq = raised(high, now, backup_created)
    counter = session.get(Counter, SEQ_COUNTER)
    if counter is None:
        session.add(Counter(name=SEQ_COUNTER, value=seq))
    else:
        counter.value = seq
    for row in session.scalars(select(ZoneProgramme)):
        row.version = raised(row.version, now, backup_created)
        row.digest, row.published_at = "", None
    return seq


def raise_key_serial(secrets_dir: Path, now: datetime, backup_created: datetime | None) -> int | None:
    """Raise the key-update serial in the keyring, so the next `broadcast key rotate` is news to agents.

    The signed announcement stays as it is (agents already hold it); only the next rotation's serial
    changes. A station that never rotated gets a keyring of its original key, so the first rotation
    after the restore also counts from above any serial announced after the backup. Returns the serial,
    None when there is no signing key yet.
    """
    ring = key_rotation.load_keyring(secrets_dir)
    if ring is None:
        if not (secrets_dir / key_rotation.ORIGINAL_KEY_FILE).exists():
            return None
        public = protocol.public_key_of(key_rotation.load_pem(secrets_dir / key_rotation.ORIGINAL_KEY_FILE))
        original = key_rotation.SigningKey(protocol.key_id(public), key_rotation.ORIGINAL_KEY_FILE, public)
        data: dict[str, Any] = {"serial": 0, "keys": [asdict(original)], "announcement": ""}
    else:
        data = json.loads((secrets_dir / key_rotation.KEYRING_FILE).read_bytes())
    data["serial"] = raised(int(data["serial"]), now, backup_created)
    write_atomic(secrets_dir / key_rotation.KEYRING_FILE, json.dumps(data, indent=1).encode(), mode=0o600)
    return int(data["serial"])


def _backup_time(manifest: Manifest) -> datetime | None:
    try:
        created = datetime.fromisoformat(manifest.created_at)
    except ValueError:
        return None
    return created if created.tzinfo is not None else created.replace(tzinfo=UTC)


def after_restore(settings: Settings, manifest: Manifest, now: datetime | None = None) -> list[str]:
    """Raise every number in the restored data directory (before any station starts); return what it did."""
    now = now or datetime.now(UTC)
    created = _backup_time(manifest)
    recorded = manifest.extra.get("command_seq")
    known = int(recorded.get("command_seq", 0)) if isinstance(recorded, dict) else 0
    db = Database(settings.database)
    try:
        with db.session() as session:
            seq = raise_numbers(session, now, created, known)
    finally:
        db.dispose()
    serial = raise_key_serial(settings.secrets_dir, now, created)
    messages = [f"command numbers continue above {seq} (agents refuse numbers they have seen)"]
    messages.append("every zone's programme is republished under a higher version at the next start")
    if serial is not None:
        messages.append(f"the next key rotation is numbered above {serial}")
    return messages
