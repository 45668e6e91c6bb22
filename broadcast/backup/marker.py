"""The restore marker: `DATA_DIR/restored.json`, written by a restore, acted on by the station's next start
(audit entry, republished programmes: broadcast/backup/followup.py), then set aside."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from broadcast.backup.manifest import Manifest
from broadcast.storage.files import write_atomic

RESTORE_MARKER = "restored.json"


def write_marker(
    data_dir: Path, manifest: Manifest, source: str, moment: datetime, before: str | None, after: str | None
) -> None:
    """Write the restore marker the station reads on its next start (audit, republishing)."""
    marker = {
        "backup_id": manifest.backup_id,
        "station_id": manifest.station_id,
        "created_at": manifest.created_at,
        "restored_at": moment.astimezone(UTC).isoformat(timespec="seconds"),
        "source": source,
        "database_kind": manifest.database_kind,
        "migrated_from": before,
        "migrated_to": after,
        "extra": manifest.extra,
    }
    write_atomic(
        data_dir / RESTORE_MARKER, json.dumps(marker, indent=1, ensure_ascii=False) + "\n", mode=0o600
    )


def read_restore_marker(data_dir: Path) -> dict[str, Any] | None:
    """Return the restore marker of `data_dir`, or None (no restore since the last start).

    A marker that cannot be read still says a restore happened: it comes back empty, so the start records
    the restore and republishes every zone rather than failing (or forgetting it).
    """
    try:
        data = json.loads((data_dir / RESTORE_MARKER).read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def clear_restore_marker(data_dir: Path, now: datetime | None = None) -> bool:
    """Set the marker aside once acted on; return True for the one caller that moved it (of several
    workers starting together, one wins; a second start does not act again)."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    try:
        (data_dir / RESTORE_MARKER).rename(data_dir / f"{RESTORE_MARKER}.done-{stamp}")
    except FileNotFoundError:
        return False
    return True
