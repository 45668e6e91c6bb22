"""Where backups go: a directory (a USB disk) or an S3-compatible bucket, behind one small interface.

Keys are relative slash paths (`clips/<sha256>.mp3`, `backups/<ID>/manifest.json`). Every put is atomic
on its own (a temp file renamed, or one S3 PUT), so a key that exists holds whole bytes.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Protocol

from broadcast.storage.files import sync_directory, write_atomic

_KEY = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


class DestinationError(RuntimeError):
    """The destination cannot be read or written, or a key is missing."""


class MissingKey(DestinationError):
    """No object under this key."""


def check_key(key: str) -> str:
    """Return `key` if it is a plain relative path (no `..`, no leading slash), else raise ValueError."""
    if not _KEY.fullmatch(key) or any(part in (".", "..") for part in key.split("/")):
        raise ValueError(f"bad backup key {key!r}")
    return key


class Destination(Protocol):
    """A place that keeps backup files under keys."""

    def describe(self) -> str: ...

    def put_file(self, key: str, path: Path) -> None: ...

    def put_bytes(self, key: str, data: bytes) -> None: ...

    def get_file(self, key: str, path: Path) -> None:
        """Copy the object to `path`; raise MissingKey."""
        ...

    def get_bytes(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str) -> list[str]:
        """Return every key that starts with `prefix` (a folder ends in '/'), sorted."""
        ...

    def delete(self, key: str) -> None: ...


class DirectoryDestination:
    """Backups as files under one directory (created on first use)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def describe(self) -> str:
        return str(self.root.resolve())

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put_file(self, key: str, path: Path) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.part")
        try:
            shutil.copyfile(path, tmp)
            os.chmod(tmp, 0o600)
            with tmp.open("rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        sync_directory(target.parent)

    def put_bytes(self, key: str, data: bytes) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, data, mode=0o600)

    def get_file(self, key: str, path: Path) -> None:
        try:
            shutil.copyfile(self._path(key), path)
        except FileNotFoundError:
            raise MissingKey(key) from None

    def get_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise MissingKey(key) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str) -> list[str]:
        if not self.root.is_dir():
            return []
        found = []
        for path in self.root.rglob("*"):
            if path.is_file() and not path.name.startswith("."):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    found.append(key)
        return sorted(found)

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        parent = path.parent
        while parent != self.root and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
