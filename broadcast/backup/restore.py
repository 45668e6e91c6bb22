"""Restoring a backup onto a machine: check everything first, build the new data dir beside, then swap.

The order is what keeps a refusal harmless: the manifest (passphrase, signature), the station it belongs
to, every member and clip (size, sha256, decryption, the database copy's own check) are all verified in a
temp dir beside the target before anything is touched. Then the database is loaded (PostgreSQL: one
transaction into an empty database; undone if a later step fails), migrated if this code is newer, the
command-number guard runs, the restore marker is written, and only then the old data dir (if any) steps
aside as `<dir>.replaced-<time>` and the new one takes its name.
"""

from __future__ import annotations

import os
import shutil
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from broadcast.backup import archive, database, envelope, identity, seq_guard, vault
from broadcast.backup.destination import Destination, DestinationError, MissingKey
from broadcast.backup.errors import BackupError, CorruptBackup, OtherStation, StationRunning, WrongPassphrase
from broadcast.backup.manifest import DATABASE_MEMBER, SECRETS_MEMBER, Manifest, ManifestError, Member
from broadcast.backup.marker import write_marker
from broadcast.backup.running import station_running
from broadcast.config import Settings
from broadcast.storage.db import migrate, sqlite_path

MOVED_ALONG = ("voices", "cache")  # not in a backup (re-installable), kept when a data dir is replaced


@dataclass
class Verified:
    """A backup checked in full: its manifest and the opened files in the work dir."""

    manifest: Manifest
    database_file: Path
    secrets_tar: Path
    clips_dir: Path | None


@dataclass
class RestoreResult:
    manifest: Manifest
    data_dir: Path
    replaced_dir: Path | None
    migrated_from: str | None
    migrated_to: str | None
    messages: list[str] = field(default_factory=list)


def choose_backup(dest: Destination, backup_id: str | None) -> str:
    """Return `backup_id` if it is complete there, else the newest complete backup; refuse otherwise."""
    infos = archive.list_backups(dest)
    if backup_id is None:
        complete = [i.backup_id for i in infos if i.complete]
        if not complete:
            raise BackupError(f"no complete backup at {dest.describe()}")
        return complete[-1]
    for info in infos:
        if info.backup_id == backup_id:
            if not info.complete:
                raise CorruptBackup(
                    f"backup {backup_id} is incomplete (no readable manifest): not restorable"
                )
            return backup_id
    raise BackupError(f"no backup {backup_id} at {dest.describe()}")


def open_manifest(dest: Destination, bid: str, passphrase: str) -> tuple[Manifest, envelope.Keys]:
    """Return the manifest and keys; WrongPassphrase / CorruptBackup if it does not check out."""
    try:
        manifest = archive.read_manifest(dest, bid)
        keys = envelope.derive(passphrase, manifest.kdf)
    except (ManifestError, envelope.EnvelopeError) as exc:
        raise CorruptBackup(f"backup {bid}: {exc}") from None
    except MissingKey:
        raise CorruptBackup(f"backup {bid} has no manifest: incomplete") from None
    if not envelope.passphrase_matches(keys, manifest.key_check):
        raise WrongPassphrase(f"wrong passphrase for backup {bid}: nothing was restored")
    if not envelope.signature_ok(keys, manifest.body(), manifest.mac):
        raise CorruptBackup(f"backup {bid}: the manifest was altered or damaged after it was written")
    return manifest, keys


def _fetch(dest: Destination, key: str, member: Member, path: Path) -> None:
    try:
        dest.get_file(key, path)
    except MissingKey:
        raise CorruptBackup(f"{key} is missing from the backup") from None
    size = path.stat().st_size
    if size != member.size:
        raise CorruptBackup(f"{key} is truncated or damaged: {size} bytes, the manifest says {member.size}")
    if archive.file_sha256(path) != member.sha256:
        raise CorruptBackup(f"{key} is damaged: its sha256 does not match the manifest")


def verify_backup(
    dest: Destination, manifest: Manifest, keys: envelope.Keys, work: Path, clips_into: Path | None
) -> Verified:
    """Download and check every member (and clip, into `clips_into`) of a backup; change nothing else."""
    bid = manifest.backup_id
    work.mkdir(parents=True, exist_ok=True)
    opened = {}
    for name in (DATABASE_MEMBER, SECRETS_MEMBER):
        sealed = work / name
        _fetch(dest, archive.backup_key(bid, name), manifest.member(name), sealed)
        try:
            envelope.open_file(keys, sealed, work / (name + ".open"))
        except envelope.EnvelopeError as exc:
            raise CorruptBackup(f"{name} of backup {bid}: {exc}") from None
        sealed.unlink()
        opened[name] = work / (name + ".open")
    try:
        vault.check(opened[SECRETS_MEMBER])
        if manifest.database_kind == "sqlite":
            counts, _ = database.inspect_file(opened[DATABASE_MEMBER])
            if counts != manifest.counts:
                raise CorruptBackup(f"the database of backup {bid} does not hold the rows its manifest lists")
        else:
            database.check_postgres_archive(opened[DATABASE_MEMBER])
    except (vault.VaultError, database.DatabaseBackupError) as exc:
        raise CorruptBackup(f"backup {bid}: {exc}") from None
    if clips_into is not None:
        clips_into.mkdir(parents=True, exist_ok=True)
        for clip in manifest.clips:
            _fetch(dest, archive.CLIPS + clip.name, clip, clips_into / clip.name)
            os.chmod(clips_into / clip.name, 0o600)  # as the clip store writes them
    return Verified(manifest, opened[DATABASE_MEMBER], opened[SECRETS_MEMBER], clips_into)


def _check_target(settings: Settings, manifest: Manifest) -> None:
    """Refuse a running station, another station's data dir, a database of another kind or not empty."""
    if (reason := station_running(settings)) is not None:
        raise StationRunning(f"a station is running on {settings.data_dir} ({reason}); stop it first")
    ok, target_id = identity.same_station(
        settings.secrets_dir, manifest.station_id, manifest.signing_public_keys
    )
    if not ok:
        raise OtherStation(
            f"{settings.data_dir} belongs to station {target_id}, the backup to station "
            f"{manifest.station_id}: restore into an empty data directory (BROADCAST_DATA_DIR) instead"
        )
    kind = database.kind_of(settings.database)
    if kind != manifest.database_kind:
        raise BackupError(
            f"the backup holds a {manifest.database_kind} database but this station is set up for {kind} "
            "(BROADCAST_DATABASE_URL)"
        )
    if kind == "sqlite":
        path = sqlite_path(settings.database)
        if path is None or settings.data_dir.resolve() not in path.resolve().parents:
            raise BackupError(
                "restore puts the SQLite database in the data dir; unset BROADCAST_DATABASE_URL"
            )
    elif tables := database.tables_in(settings.database):
        raise BackupError(
            f"the PostgreSQL database is not empty ({len(tables)} tables): restore needs a new empty database"
        )


def restore_backup(
    settings: Settings,
    dest: Destination,
    passphrase: str,
    backup_id: str | None = None,
    *,
    now: datetime | None = None,
) -> RestoreResult:
    """Restore a backup into settings.data_dir (and database); raise BackupError with nothing changed."""
    try:
        bid = choose_backup(dest, backup_id)
        manifest, keys = open_manifest(dest, bid, passphrase)
    except DestinationError as exc:
        raise BackupError(str(exc)) from exc
    _check_target(settings, manifest)
    target = settings.data_dir.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.restore-{bid}"
    shutil.rmtree(staging, ignore_errors=True)  # a crashed restore's leftovers
    staging.mkdir(mode=0o700)
    loaded = False
    try:
        local_clips, _ = archive.local_clips_dir(settings)
        in_data_dir = local_clips is not None and local_clips.resolve() == settings.clips_dir.resolve()
        clips_into = (
            staging / "clips" if in_data_dir else (staging / ".work" / "clips" if local_clips else None)
        )
        try:
            verified = verify_backup(dest, manifest, keys, staging / ".work", clips_into)
        except DestinationError as exc:
            raise BackupError(str(exc)) from exc
        staged = settings.model_copy(update={"data_dir": staging})
        vault.unpack(verified.secrets_tar, staged.secrets_dir, staging)
        messages = [f"backup {bid} of station {manifest.station_id} made {manifest.created_at} checked"]
        if manifest.database_kind == "sqlite":
            db_path = sqlite_path(settings.database)
            assert db_path is not None
            staged_db = staging / db_path.resolve().relative_to(target)
            staged_db.parent.mkdir(parents=True, exist_ok=True)
            verified.database_file.rename(staged_db)
            db_url = f"sqlite:///{staged_db}"
        else:
            db_url = settings.database
            loaded = True
            database.restore_postgres(db_url, verified.database_file)
            if database.database_counts(db_url)[0] != manifest.counts:
                raise CorruptBackup(f"the database of backup {bid} does not hold the rows its manifest lists")
        before = manifest.schema_revision
        migrate(db_url)
        after = database.database_counts(db_url)[1]
        if before != after:
            messages.append(f"database migrated from {before} to {after}")
        if manifest.clips_kept_in:
            messages.append(_clips_kept_in_s3(settings, manifest.clips_kept_in, db_url))
        messages += seq_guard.after_restore(staged, manifest)
        if local_clips is not None and not in_data_dir and verified.clips_dir is not None:
            local_clips.mkdir(parents=True, exist_ok=True)
            archive.copy_tree_files(verified.clips_dir, local_clips)  # content-addressed: adding is safe
        shutil.rmtree(staging / ".work", ignore_errors=True)
        moment = now or datetime.now(UTC)
        write_marker(staging, manifest, dest.describe(), moment, before, after)
        replaced = _swap(staging, target, moment)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if loaded:
            with suppress(Exception):  # the load's own error is the one to report
                database.empty_postgres(settings.database)
        raise
    if replaced is not None:
        messages.append(f"the previous data dir was kept as {replaced}")
    return RestoreResult(manifest, target, replaced, before, after, messages)


def _clips_kept_in_s3(settings: Settings, where: str, db_url: str) -> str:
    """Say whether the S3 clip store (not in the backup) holds every clip the restored database names."""
    from broadcast.clipstore import open_clip_storage
    from broadcast.clipstore.store import ClipStoreError

    said = f"clips were not in the backup: they stay in {where}"
    if (settings.clip_store or "").strip() != where:
        return f"{said}; set BROADCAST_CLIP_STORE={where} (and BROADCAST_S3_*) before starting the station"
    try:
        store = open_clip_storage(settings.clip_storage)
        missing = [sha for sha in database.clip_names(db_url) if not store.exists(sha)]
    except ClipStoreError as exc:
        return f"{said}; could not check them: {exc}"
    if missing:
        return f"{said}; WARNING: {len(missing)} clips the database names are not there (first {missing[0]})"
    return f"{said}, every clip the database names is there"


def _swap(staging: Path, target: Path, moment: datetime) -> Path | None:
    """Put the staged dir in the target's place; return where an old non-empty target went."""
    replaced = None
    if target.exists():
        if any(target.iterdir()):
            for name in MOVED_ALONG:
                if (target / name).exists() and not (staging / name).exists():
                    (target / name).rename(staging / name)
            replaced = target.parent / f"{target.name}.replaced-{moment.strftime('%Y%m%dT%H%M%SZ')}"
            target.rename(replaced)
        else:
            target.rmdir()
    staging.rename(target)
    return replaced
