"""Content-addressed clip storage: a clip's name is the sha256 of its bytes, so a clip never changes.

`ClipStorage` is what the station needs from a store; `LocalClipStore` (a directory, the default) and
`broadcast.clipstore.s3.S3ClipStore` (S3-compatible object storage) implement it, and
`open_clip_storage` picks one from the settings (`BROADCAST_CLIP_STORE`).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from broadcast.storage.files import write_atomic

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 64 * 1024


def is_sha256(value: str) -> bool:
    return bool(_SHA256.fullmatch(value))


def check_sha256(value: str) -> str:
    """Return `value` if it is a lowercase hex sha256, else raise ValueError (never a path to build)."""
    if not is_sha256(value):
        raise ValueError("not a sha256")
    return value


class ClipStoreError(RuntimeError):
    """The store cannot be used: unreachable, misconfigured, or it holds bytes that are not the clip."""


class ClipNotFound(LookupError):
    """No clip with this sha256 in the store."""


@dataclass
class ClipStream:
    """An open clip: its size (for Content-Length) and its bytes in chunks."""

    size: int
    chunks: Iterator[bytes]


class ClipStorage(Protocol):
    """What the station needs from a clip store (every backend passes one contract test suite)."""

    def describe(self) -> str:
        """Return where clips live, for logs."""
        ...

    def check(self) -> None:
        """Raise ClipStoreError if the store cannot be reached or written (called at start-up)."""
        ...

    def put(self, data: bytes) -> str:
        """Store the bytes (idempotent: same bytes, same name) and return their sha256."""
        ...

    def exists(self, sha256: str) -> bool: ...

    def size(self, sha256: str) -> int:
        """Return the clip's size in bytes; raise ClipNotFound."""
        ...

    def read(self, sha256: str) -> bytes:
        """Return the clip, checked against its sha256; raise ClipNotFound or ClipStoreError."""
        ...

    def open_stream(self, sha256: str) -> ClipStream:
        """Open the clip for streaming; raise ClipNotFound before any byte is produced."""
        ...

    def delete(self, sha256: str) -> None:
        """Remove the clip if present."""
        ...

    def local_file(self, sha256: str) -> Path | None:
        """Return the clip's file on this machine if the backend keeps one (None: use open_stream)."""
        ...


def check_digest(sha256: str, digest: hashlib._Hash) -> None:
    """Raise ClipStoreError unless `digest` (of bytes read from a store) is `sha256`."""
    if digest.hexdigest() != sha256:
        raise ClipStoreError(f"Tệp âm thanh {sha256[:12]}… trong kho bị hỏng (sai mã sha256).")


def verified(sha256: str, data: bytes) -> bytes:
    """Return `data` if it hashes to `sha256`, else raise ClipStoreError."""
    check_digest(sha256, hashlib.sha256(data))
    return data


class LocalClipStore:
    """Clips as files DIR/<sha256>.mp3, written atomically, never overwritten."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def describe(self) -> str:
        return str(self.directory.resolve())

    def check(self) -> None:
        if not os.access(self.directory, os.W_OK | os.X_OK):
            raise ClipStoreError(f"Không ghi được vào thư mục âm thanh {self.directory}.")

    def path(self, sha256: str) -> Path:
        """Return where a clip lives; raise ValueError for anything that is not a sha256."""
        return self.directory / f"{check_sha256(sha256)}.mp3"

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        target = self.path(sha)
        if target.exists():
            return sha
        write_atomic(target, data, mode=0o600)
        return sha

    def size(self, sha256: str) -> int:
        try:
            return self.path(sha256).stat().st_size
        except FileNotFoundError:
            raise ClipNotFound(sha256) from None

    def read(self, sha256: str) -> bytes:
        try:
            data = self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise ClipNotFound(sha256) from None
        return verified(sha256, data)

    def open_stream(self, sha256: str) -> ClipStream:
        try:
            handle = self.path(sha256).open("rb")
        except FileNotFoundError:
            raise ClipNotFound(sha256) from None

        def chunks() -> Iterator[bytes]:
            digest = hashlib.sha256()
            with handle:
                while block := handle.read(CHUNK):
                    digest.update(block)
                    yield block
            check_digest(sha256, digest)

        return ClipStream(os.fstat(handle.fileno()).st_size, chunks())

    def delete(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)

    def local_file(self, sha256: str) -> Path | None:
        path = self.path(sha256)
        return path if path.is_file() else None


@contextmanager
def clip_file(store: ClipStorage, sha256: str) -> Iterator[Path]:
    """Yield a local file holding the verified clip (for ffmpeg and other tools), whatever the backend.

    A local backend yields its own file (do not modify it); others a temporary copy, removed afterwards.
    """
    path = store.local_file(sha256)
    if path is not None:
        with path.open("rb") as handle:
            check_digest(sha256, hashlib.file_digest(handle, "sha256"))
        yield path
        return
    stream = store.open_stream(sha256)
    with tempfile.TemporaryDirectory(prefix="clip-") as tmp:
        target = Path(tmp) / f"{sha256}.mp3"
        with target.open("wb") as handle:
            for block in stream.chunks:  # the stream checks the sha256 at its end
                handle.write(block)
        yield target
