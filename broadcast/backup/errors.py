"""Every way a backup or a restore refuses; the text of each is the one-line message the CLI prints."""

from __future__ import annotations


class BackupError(Exception):
    """A backup or restore that cannot be done; nothing was changed at the target."""


class WrongPassphrase(BackupError):
    """The passphrase does not open this backup."""


class CorruptBackup(BackupError):
    """The backup is incomplete, truncated or damaged."""


class OtherStation(BackupError):
    """The backup belongs to another station than the one in the target data dir."""


class StationRunning(BackupError):
    """A station is running on the target data dir."""
