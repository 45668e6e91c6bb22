"""The first start after `broadcast restore`: the audit log says so, and every zone's programme goes out.

`broadcast restore` runs while no station does: it restores, raises every number agents check
(seq_guard.after_restore, which also clears each zone's programme digest) and leaves a marker
(`restored.json`) in the data directory. The station reads the marker once at its next start, before it
publishes anything: it records the restore in the audit log and takes the marker away (one worker wins
the rename; the others see no marker). The republish itself is the start's ordinary programme refresh,
which finds every digest cleared and so sends every zone its programme under the raised version: agents,
never touched, replace what they hold and keep playing from it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update

from broadcast.backup import clear_restore_marker, read_restore_marker
from broadcast.config import Settings
from broadcast.people import audit
from broadcast.storage.db import Database
from broadcast.storage.models import ZoneProgramme

log = logging.getLogger(__name__)

ACTION = "backup.restore"


@dataclass(frozen=True)
class Restored:
    """The restore this start follows (from the marker)."""

    backup_id: str
    created_at: str
    restored_at: str
    source: str


def audit_detail(marker: dict[str, Any]) -> dict[str, Any]:
    """Return what the audit entry keeps of a marker (no secrets are in it; the extras stay out)."""
    keep = ("created_at", "restored_at", "source", "station_id", "database_kind", "migrated_from")
    return {k: marker[k] for k in (*keep, "migrated_to") if marker.get(k) is not None}


def follow_up(settings: Settings, db: Database) -> Restored | None:
    """Record a restore this data directory came from, once; return it (None: an ordinary start)."""
    marker = read_restore_marker(settings.data_dir)
    if marker is None:
        return None
    if not clear_restore_marker(settings.data_dir):  # another worker of this station took it first
        return None
    backup_id = str(marker.get("backup_id") or "")
    with db.session() as session:
        audit.record(session, "station", ACTION, f"backup:{backup_id}", **audit_detail(marker))
        # After a restore by hand (no seq_guard run) the digests may still match: republish regardless.
        session.execute(update(ZoneProgramme).values(digest="", published_at=None))
    log.warning(
        "first start after restoring backup %s (taken %s, from %s): programmes are republished",
        backup_id,
        marker.get("created_at"),
        marker.get("source"),
    )
    return Restored(
        backup_id,
        str(marker.get("created_at") or ""),
        str(marker.get("restored_at") or datetime.now(UTC).isoformat()),
        str(marker.get("source") or ""),
    )
