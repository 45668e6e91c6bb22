"""Which backups to delete when only the newest N are kept, and which clips nobody needs any more. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class BackupInfo:
    """One backup as a destination lists it (complete = its manifest is there and readable)."""

    backup_id: str
    complete: bool
    created_at: str | None = None
    station_id: str | None = None
    database_kind: str | None = None
    size_bytes: int = 0  # database + secrets + the clips it references (shared clips counted in each)
    clip_count: int = 0


def choose_prunable(backups: Sequence[BackupInfo], keep: int) -> list[str]:
    """Return the ids to delete: complete backups beyond the newest `keep`, and every incomplete one older
    than the newest complete backup (a newer incomplete one may be a backup running right now).

    `keep` below 1 is refused: retention never deletes the last good backup.
    """
    if keep < 1:
        raise ValueError("keep must be at least 1")
    ordered = sorted(backups, key=lambda b: b.backup_id)
    complete = [b.backup_id for b in ordered if b.complete]
    doomed = complete[: max(0, len(complete) - keep)]
    if complete:
        newest = complete[-1]
        doomed += [b.backup_id for b in ordered if not b.complete and b.backup_id < newest]
    return sorted(doomed)


def unreferenced_clips(stored: Iterable[str], kept: Iterable[Iterable[str]]) -> list[str]:
    """Return the stored clip names no kept backup references."""
    needed = {name for names in kept for name in names}
    return sorted(set(stored) - needed)
