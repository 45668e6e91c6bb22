"""Making a backup, listing the backups of a destination, and pruning them to the newest N.

A backup writes, in order: new clips (`clips/<sha256>.mp3`, only those the destination lacks), the sealed
database and secrets (`backups/<ID>/*.enc`), and last the manifest. Until the manifest is there the
backup is incomplete, whatever happened to the process that made it.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from broadcast.backup import database, envelope, identity, seq_guard, vault
from broadcast.backup.destination import Destination
from broadcast.backup.errors import BackupError
from broadcast.backup.manifest import (
    DATABASE_MEMBER,
    MANIFEST_NAME,
    SECRETS_MEMBER,
    Manifest,
    ManifestError,
    Member,
    backup_id,
    clip_name,
    is_backup_id,
    parse,
)
from broadcast.backup.retention import BackupInfo, choose_prunable, unreferenced_clips
from broadcast.clipstore.store import is_sha256
from broadcast.config import Settings

CLIPS = "clips/"
MIN_PASSPHRASE = 8  # it guards the signing key of every loudspeaker: no "1234"
BACKUPS = "backups/"


def backup_key(backup: str, name: str) -> str:
    return f"{BACKUPS}{backup}/{name}"


@dataclass(frozen=True)
class BackupResult:
    """What one backup did."""

    manifest: Manifest
    destination: str
    new_clips: int
    reused_clips: int
    bytes_written: int
    seconds: float


def file_sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def app_version() -> str:
    try:
        return version("broadcast")
    except PackageNotFoundError:
        return "unknown"


def local_clips_dir(settings: Settings) -> tuple[Path | None, str | None]:
    """Return (the local clip directory, None) or (None, the S3 clip store URL)."""
    where = (settings.clip_store or "").strip()
    if where.startswith("s3://"):
        return None, where
    return (Path(where.removeprefix("file://")) if where else settings.clips_dir), None


def run_backup(
    settings: Settings, dest: Destination, passphrase: str, *, now: datetime | None = None
) -> BackupResult:
    """Back the station up to `dest`; raise BackupError (nothing at `dest` looks complete then)."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise BackupError(
            f"a backup needs a passphrase of at least {MIN_PASSPHRASE} characters "
            "(--passphrase-file or BROADCAST_BACKUP_PASSPHRASE)"
        )
    started = time.monotonic()
    moment = now or datetime.now(UTC)
    bid = backup_id(moment)
    if dest.exists(backup_key(bid, MANIFEST_NAME)):
        raise BackupError(f"backup {bid} already exists at {dest.describe()}; try again in a second")
    kdf = envelope.new_kdf()
    keys = envelope.derive(passphrase, kdf)
    station_id = identity.ensure_station_id(settings.secrets_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_work(settings.data_dir)
    # Plain copies of the database and secrets exist only here, in a 0700 dir beside the data they copy.
    with tempfile.TemporaryDirectory(prefix=".backup-", dir=settings.data_dir) as tmp:
        work = Path(tmp)
        try:
            counts, revision = database.dump(settings.database, work / "database.raw")
        except database.DatabaseBackupError as exc:
            raise BackupError(str(exc)) from exc
        vault.pack(settings.secrets_dir, settings.data_dir, work / "secrets.tar")
        written = 0
        members = []
        for raw, name in (("database.raw", DATABASE_MEMBER), ("secrets.tar", SECRETS_MEMBER)):
            envelope.seal_file(keys, work / raw, work / name)
            (work / raw).unlink()
            members.append(Member(name, file_sha256(work / name), (work / name).stat().st_size))
        # Clips after the database copy: every clip the copy refers to is already in the store.
        clips, new, reused, clip_bytes, kept_in = _backup_clips(settings, dest)
        written += clip_bytes
        for member in members:
            dest.put_file(backup_key(bid, member.name), work / member.name)
            written += member.size
    manifest = Manifest(
        backup_id=bid,
        created_at=moment.astimezone(UTC).isoformat(timespec="seconds"),
        station_id=station_id,
        signing_public_keys=identity.signing_public_keys(settings.secrets_dir),
        database_kind=database.kind_of(settings.database),
        schema_revision=revision,
        counts=counts,
        members=tuple(members),
        clips=tuple(clips),
        clips_kept_in=kept_in,
        kdf=kdf,
        key_check=envelope.key_check(keys),
        app_version=app_version(),
        extra={"command_seq": seq_guard.backup_facts(settings, settings.database)},
    )
    manifest = _signed(manifest, keys)
    blob = manifest.to_json()
    dest.put_bytes(backup_key(bid, MANIFEST_NAME), blob)  # last: from now on the backup is complete
    return BackupResult(
        manifest, dest.describe(), new, reused, written + len(blob), time.monotonic() - started
    )


def _remove_stale_work(data_dir: Path, older_than_s: float = 86400.0) -> None:
    """Remove the work dirs of backups killed mid-way (a day old: not one running now)."""
    for leftover in data_dir.glob(".backup-*"):
        if leftover.is_dir() and time.time() - leftover.stat().st_mtime > older_than_s:
            shutil.rmtree(leftover, ignore_errors=True)


def _signed(manifest: Manifest, keys: envelope.Keys) -> Manifest:
    from dataclasses import replace

    return replace(manifest, mac=envelope.sign(keys, manifest.body()))


def _backup_clips(settings: Settings, dest: Destination) -> tuple[list[Member], int, int, int, str | None]:
    """Copy the clips `dest` lacks; return (every clip, new, reused, bytes copied, S3 store or None)."""
    directory, kept_in = local_clips_dir(settings)
    if directory is None:
        return [], 0, 0, 0, kept_in  # already off the machine, in the S3 clip store
    present = set(dest.list(CLIPS))
    clips, new, reused, written = [], 0, 0, 0
    for path in sorted(directory.glob("*.mp3")) if directory.is_dir() else []:
        sha = path.stem
        if not is_sha256(sha):
            continue
        size = path.stat().st_size
        key = CLIPS + clip_name(sha)
        if key in present:
            reused += 1
        else:
            if file_sha256(path) != sha:
                raise BackupError(f"clip {path} is damaged (its bytes do not match its name); not copied")
            dest.put_file(key, path)
            new, written = new + 1, written + size
        clips.append(Member(clip_name(sha), sha, size))
    return clips, new, reused, written, None


def read_manifest(dest: Destination, bid: str) -> Manifest:
    """Return the manifest of backup `bid`; raise ManifestError if damaged, MissingKey if absent."""
    return parse(dest.get_bytes(backup_key(bid, MANIFEST_NAME)))


def _scan(dest: Destination) -> list[tuple[BackupInfo, Manifest | None]]:
    ids: set[str] = set()
    for key in dest.list(BACKUPS):
        parts = key.split("/")
        if len(parts) == 3 and is_backup_id(parts[1]):
            ids.add(parts[1])
    found: list[tuple[BackupInfo, Manifest | None]] = []
    for bid in sorted(ids):
        manifest: Manifest | None = None
        if dest.exists(backup_key(bid, MANIFEST_NAME)):
            try:
                manifest = read_manifest(dest, bid)
            except ManifestError:
                manifest = None
        if manifest is None:
            found.append((BackupInfo(bid, complete=False), None))
            continue
        info = BackupInfo(
            bid,
            complete=True,
            created_at=manifest.created_at,
            station_id=manifest.station_id,
            database_kind=manifest.database_kind,
            size_bytes=manifest.stored_bytes,
            clip_count=len(manifest.clips),
        )
        found.append((info, manifest))
    return found


def list_backups(dest: Destination) -> list[BackupInfo]:
    """Return every backup at `dest`, oldest first (complete or not)."""
    return [info for info, _ in _scan(dest)]


@dataclass(frozen=True)
class PruneResult:
    deleted_backups: list[str]
    deleted_clips: int


def prune(dest: Destination, keep: int) -> PruneResult:
    """Keep the newest `keep` complete backups; delete older ones, crashed ones, and clips none needs."""
    scanned = _scan(dest)
    doomed = set(choose_prunable([info for info, _ in scanned], keep))
    for bid in sorted(doomed):
        keys = dest.list(f"{BACKUPS}{bid}/")
        manifest_key = backup_key(bid, MANIFEST_NAME)
        for key in sorted(keys, key=lambda k: k != manifest_key):  # the manifest first: never "complete"
            dest.delete(key)
    kept = [(info, m) for info, m in scanned if info.backup_id not in doomed]
    newest = max((info.backup_id for info, _ in kept if info.complete), default="")
    if any(not info.complete and info.backup_id > newest for info, _ in kept):
        return PruneResult(sorted(doomed), 0)  # a backup is under way: its new clips are not listed yet
    names = [[c.name for c in m.clips] for _, m in kept if m is not None]
    stored = [key[len(CLIPS) :] for key in dest.list(CLIPS)]
    gone = unreferenced_clips(stored, names)
    for name in gone:
        dest.delete(CLIPS + name)
    return PruneResult(sorted(doomed), len(gone))


def copy_tree_files(source: Path, target: Path) -> None:
    """Copy every file of `source` into `target` (used for clip stores outside the data dir)."""
    for path in source.iterdir():
        if path.is_file() and not (target / path.name).exists():
            shutil.copy2(path, target / path.name)
