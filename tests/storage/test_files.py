"""The one atomic write: whole file or old file, the asked mode whatever the umask, no temp left behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from broadcast.storage import files


def test_replaces_whole_file_with_asked_mode(tmp_path: Path) -> None:
    target = tmp_path / "secret.pem"
    target.write_text("old")
    old_umask = os.umask(0o077)
    try:
        files.write_atomic(target, "mới", mode=0o640)
    finally:
        os.umask(old_umask)
    assert target.read_text(encoding="utf-8") == "mới"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["secret.pem"]


def test_failed_write_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "passwd"
    target.write_bytes(b"old")

    def no_rename(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", no_rename)
    with pytest.raises(OSError, match="disk full"):
        files.write_atomic(target, b"new", durable=False)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["passwd"]
