"""Broadcast clips: content-addressed storage (a directory or S3), and the one path from text to a clip."""

from __future__ import annotations

from pathlib import Path

from broadcast.clipstore.store import ClipStorage, ClipStoreError, LocalClipStore
from broadcast.config import ClipStoreSettings


def open_clip_storage(storage: ClipStoreSettings) -> ClipStorage:
    """Return the store BROADCAST_CLIP_STORE names: unset = DATA_DIR/clips, s3://bucket/prefix, or a path."""
    where = (storage.clip_store or "").strip()
    if where.startswith("s3://"):
        from broadcast.clipstore.s3 import s3_store  # minio only when S3 is used

        return s3_store(storage)
    if not where:
        return LocalClipStore(storage.clips_dir)
    if "://" in where and not where.startswith("file://"):
        raise ClipStoreError(
            f"BROADCAST_CLIP_STORE không hợp lệ: {where!r} (s3://bucket/prefix hoặc thư mục)."
        )
    return LocalClipStore(Path(where.removeprefix("file://")))
