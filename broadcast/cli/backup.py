"""The `broadcast backup` and `broadcast restore` commands (see broadcast/backup for what they do).

    broadcast backup --to DIR|s3://bucket/prefix [--passphrase-file F] [--keep N]
    broadcast backup list --from DIR|s3://...
    broadcast backup prune --from DIR|s3://... --keep N
    broadcast restore --from DIR|s3://... [--backup ID] [--passphrase-file F]

The passphrase comes from --passphrase-file, else BROADCAST_BACKUP_PASSPHRASE, else the station's
backup passphrase file setting, else it is asked for on the terminal. Refusals print one line and exit 2.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from broadcast.config import Settings

PASSPHRASE_ENV = "BROADCAST_BACKUP_PASSPHRASE"  # noqa: S105 - a variable name, not a secret


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``backup`` (with ``list`` and ``prune``) and ``restore`` to the ``broadcast`` command."""
    backup = subparsers.add_parser("backup", help="back the station up (database, clips, secrets)")
    backup.add_argument("--to", help="a directory (USB disk) or s3://bucket/prefix")
    backup.add_argument("--passphrase-file", help=f"file holding the passphrase (or env {PASSPHRASE_ENV})")
    backup.add_argument("--keep", type=int, help="then keep only the newest N backups there")
    backup.set_defaults(func=cmd_backup)
    actions = backup.add_subparsers(dest="backup_command")
    listing = actions.add_parser("list", help="list the backups at a destination")
    listing.add_argument("--from", dest="source", required=True)
    listing.set_defaults(func=cmd_backup_list)
    prune = actions.add_parser("prune", help="delete all but the newest N backups at a destination")
    prune.add_argument("--from", dest="source", required=True)
    prune.add_argument("--keep", type=int, required=True)
    prune.set_defaults(func=cmd_backup_prune)

    restore = subparsers.add_parser("restore", help="restore a backup (station stopped)")
    restore.add_argument("--from", dest="source", required=True)
    restore.add_argument("--backup", dest="backup_id", help="backup id (default: the newest complete one)")
    restore.add_argument("--passphrase-file", help=f"file holding the passphrase (or env {PASSPHRASE_ENV})")
    restore.set_defaults(func=cmd_restore)


def read_passphrase(args: argparse.Namespace, settings: Settings, *, confirm: bool) -> str:
    """Return the passphrase from the file, the environment, the setting, or the terminal."""
    if not args.passphrase_file and os.environ.get(PASSPHRASE_ENV):
        return os.environ[PASSPHRASE_ENV]
    path = args.passphrase_file or settings.backup_passphrase_file
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise SystemExit(f"Error: cannot read the passphrase file {path}: {exc.strerror}") from None
    if not sys.stdin.isatty():
        raise SystemExit(f"Error: give the passphrase with --passphrase-file or {PASSPHRASE_ENV}")
    first = getpass.getpass("Backup passphrase: ")
    if confirm and first != getpass.getpass("Again: "):
        raise SystemExit("Error: the two passphrases differ")
    return first


def _size(count: int) -> str:
    return f"{count / 1_000_000:.1f} MB" if count >= 100_000 else f"{count / 1000:.1f} kB"


def _refused(exc: Exception) -> int:
    print(f"Refused: {exc}", file=sys.stderr)
    return 2


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    from broadcast.backup import BackupError, DestinationError, open_destination, prune, run_backup

    target = args.to or settings.backup_to
    if not target:
        raise SystemExit("Error: say where to: broadcast backup --to DIR|s3://bucket/prefix")
    try:
        dest = open_destination(target, settings)
        result = run_backup(settings, dest, read_passphrase(args, settings, confirm=True))
        manifest = result.manifest
        print(f"Backup {manifest.backup_id} of station {manifest.station_id} written to {result.destination}")
        print(
            f"  database ({manifest.database_kind}): {sum(manifest.counts.values())} rows; "
            f"clips: {result.new_clips} new, {result.reused_clips} already there"
            + (f" (kept in {manifest.clips_kept_in})" if manifest.clips_kept_in else "")
        )
        print(f"  {_size(result.bytes_written)} written in {result.seconds:.1f} s")
        if args.keep:
            pruned = prune(dest, args.keep)
            print(f"  pruned {len(pruned.deleted_backups)} old backups and {pruned.deleted_clips} clips")
    except (BackupError, DestinationError, ValueError) as exc:
        return _refused(exc)
    return 0


def cmd_backup_list(args: argparse.Namespace, settings: Settings) -> int:
    from broadcast.backup import DestinationError, list_backups, open_destination

    try:
        infos = list_backups(open_destination(args.source, settings))
    except DestinationError as exc:
        return _refused(exc)
    if not infos:
        print("no backups there")
    for info in infos:
        if info.complete:
            print(
                f"{info.backup_id}  {info.station_id}  {info.database_kind}  "
                f"{info.clip_count} clips  {_size(info.size_bytes)}"
            )
        else:
            print(f"{info.backup_id}  INCOMPLETE (no manifest: crashed or under way)")
    return 0


def cmd_backup_prune(args: argparse.Namespace, settings: Settings) -> int:
    from broadcast.backup import DestinationError, open_destination, prune

    try:
        result = prune(open_destination(args.source, settings), args.keep)
    except (DestinationError, ValueError) as exc:
        return _refused(exc)
    print(f"deleted {len(result.deleted_backups)} backups ({', '.join(result.deleted_backups) or '-'})")
    print(f"deleted {result.deleted_clips} clips no kept backup needs")
    return 0


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    from broadcast.backup import BackupError, DestinationError, open_destination, restore_backup

    try:
        dest = open_destination(args.source, settings)
        result = restore_backup(
            settings, dest, read_passphrase(args, settings, confirm=False), args.backup_id
        )
    except (BackupError, DestinationError) as exc:
        return _refused(exc)
    for line in result.messages:
        print(line)
    print(
        f"Restored into {result.data_dir}. Start the station (broadcast serve): agents reconnect as before."
    )
    return 0
