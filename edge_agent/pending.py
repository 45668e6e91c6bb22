"""Accepted commands not yet played, kept on disk so a restart or power cut keeps the programme."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from edge_agent._files import fsync_dir, try_atomic_write

log = logging.getLogger(__name__)


class PendingStore:
    """One file per command holding its signed payload; re-verified when loaded after a restart."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def key(command_id: str) -> str:
        """Return the file key of a command id."""
        # Ids come from the station, not the file system: hash them into safe file names.
        return hashlib.sha256(command_id.encode()).hexdigest()[:32]

    def save(self, command_id: str, payload: bytes) -> bool:
        """Keep the signed payload until the command is played or given up; False if the disk refused."""
        # On a full disk the command still plays from memory; only a restart before then would lose it.
        what = f"command {command_id} (kept in memory only until it plays)"
        return try_atomic_write(self.directory / f"{self.key(command_id)}.cmd", payload, what)

    def remove(self, command_id: str) -> None:
        """Forget a command that was played, skipped or failed."""
        self.discard(self.key(command_id))

    def discard(self, key: str) -> None:
        """Delete a kept payload by its key (load() gives the keys of files that no longer verify)."""
        path = self.directory / f"{key}.cmd"
        if path.exists():
            path.unlink()
            fsync_dir(self.directory)

    def load(self) -> list[tuple[str, bytes]]:
        """Return (key, payload) for every kept command; order does not matter (playout sorts)."""
        entries = []
        for path in sorted(self.directory.glob("*.cmd")):
            try:
                entries.append((path.stem, path.read_bytes()))
            except OSError as exc:
                log.warning("cannot read pending command %s: %s", path.name, exc)
        return entries
