"""From a destination as an officer writes it (a directory, file://DIR, s3://bucket/prefix) to the object."""

from __future__ import annotations

from pathlib import Path

from broadcast.backup.destination import Destination, DestinationError, DirectoryDestination
from broadcast.config import Settings


def open_destination(url: str, settings: Settings) -> Destination:
    """Return the destination `url` names: a directory (`DIR`, `file://DIR`) or `s3://bucket/prefix`."""
    where = url.strip()
    if where.startswith("s3://"):
        from broadcast.backup.s3 import S3Destination  # minio only when S3 is used

        return S3Destination.from_settings(where, settings)
    if "://" in where and not where.startswith("file://"):
        raise DestinationError(f"unknown backup destination {url!r} (a directory or s3://bucket/prefix)")
    if not where:
        raise DestinationError("no backup destination given")
    return DirectoryDestination(Path(where.removeprefix("file://")))
