"""The station's one atomic file write: a reader sees the old file or the whole new one, never a part.

The data goes to a temporary file beside the target (same file system, so the rename is atomic), is
flushed to disk, then renamed over the target; with `durable` the directory is flushed too, so the
rename itself survives a power cut (keys, the broker's password file, clips). Caches pass
`durable=False`: losing the newest entry to a power cut costs one synthesis, not a second fsync per
write. `mode` is applied with chmod because O_CREAT's mode is filtered by the umask.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes | str, *, mode: int = 0o644, durable: bool = True) -> None:
    """Replace `path` with `data` in one step (text is written as UTF-8)."""
    blob = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(blob)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        sync_directory(path.parent)


def sync_directory(directory: Path) -> None:
    """Flush a directory's entries (a rename or a new file in it) to disk."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
