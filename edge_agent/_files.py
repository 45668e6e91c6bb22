"""The agent's one atomic file write (fsync, rename, directory fsync) and its file-error wording."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, BinaryIO

log = logging.getLogger(__name__)


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in directory survive a power cut."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_file(path: Path, *, prefix: str = ".tmp-", durable: bool = True) -> Iterator[BinaryIO]:
    """Yield a new file beside path that replaces path only if the block ends without an error.

    durable: fsync the file before the rename and the directory after it, so that after a power cut
    path holds either the old or the new content. A failed block leaves path as it was and no temporary
    file behind (one cut off by a power loss keeps `prefix`, for its owner to sweep).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(path.parent)


def atomic_write(path: Path, data: bytes) -> None:
    """Write data to path so that after a power cut it holds either the old or the new content."""
    with atomic_file(path) as handle:
        handle.write(data)


def try_atomic_write(path: Path, data: bytes, what: str) -> bool:
    """Write like atomic_write; on a full (or failing) disk log a clear error and return False instead."""
    try:
        atomic_write(path, data)
    except OSError as exc:
        # The caller keeps the state in memory and writes the whole file again at its next change.
        log.error("could not save %s to %s: %s", what, path, describe(exc))
        return False
    return True


def describe(exc: OSError) -> str:
    """Return a short, clear description of a file error ("disk full" for ENOSPC)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "disk full (no space left on device)"
    return exc.strerror or str(exc)


def close_quietly(handle: IO[str]) -> None:
    """Close an append handle whose buffer a full disk may have refused (that data is rewritten anyway)."""
    with contextlib.suppress(OSError):
        handle.close()
