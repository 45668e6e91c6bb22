"""Backup and restore of a whole station: database, clips, and the secrets every loudspeaker trusts.

`run_backup` / `restore_backup` / `list_backups` / `prune` are the entry points (the CLI in
broadcast/cli/backup.py, the scheduler and the admin page call them); `open_destination` picks a
directory or an S3 bucket. The pure parts — manifest, retention, the encryption envelope — sit apart from
the adapters (SQLite/pg_dump, destinations). Layout: see archive.py and restore.py.
"""

from __future__ import annotations

from broadcast.backup.archive import BackupResult, PruneResult, list_backups, prune, run_backup
from broadcast.backup.destination import Destination, DestinationError
from broadcast.backup.errors import BackupError, CorruptBackup, OtherStation, StationRunning, WrongPassphrase
from broadcast.backup.identity import station_id_of
from broadcast.backup.manifest import Manifest, Member
from broadcast.backup.marker import RESTORE_MARKER, clear_restore_marker, read_restore_marker
from broadcast.backup.restore import RestoreResult, restore_backup
from broadcast.backup.retention import BackupInfo, choose_prunable
from broadcast.backup.running import station_running
from broadcast.backup.where import open_destination

__all__ = [
    "RESTORE_MARKER",
    "BackupError",
    "BackupInfo",
    "BackupResult",
    "CorruptBackup",
    "Destination",
    "DestinationError",
    "Manifest",
    "Member",
    "OtherStation",
    "PruneResult",
    "RestoreResult",
    "StationRunning",
    "WrongPassphrase",
    "choose_prunable",
    "clear_restore_marker",
    "list_backups",
    "open_destination",
    "prune",
    "read_restore_marker",
    "restore_backup",
    "run_backup",
    "station_id_of",
    "station_running",
]
