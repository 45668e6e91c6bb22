"""On-disk cache of synthesised speech, keyed by hash(engine, voice, options, normalised text) in a scope."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from broadcast.tts.base import PcmAudio

_MAGIC = b"PCM1"


def speech_key(engine: str, voice: str, options: Mapping[str, object], text: str) -> str:
    """Return the cache key of one synthesis."""
    blob = json.dumps([engine, voice, options, text], sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()


class SpeechCache:
    """PCM per sentence on disk; least recently used files go first when over `max_bytes`.

    `scope` names what else shapes the audio (engine endpoints, decoder build): entries made in another
    scope are never served, so one directory can be shared by differently configured stations.
    """

    def __init__(self, directory: Path, max_bytes: int = 512 * 1024 * 1024, scope: str = "") -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.scope = scope
        directory.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        if self.scope:
            key = hashlib.sha256(f"{self.scope}\0{key}".encode()).hexdigest()
        return self.directory / key[:2] / f"{key}.pcm"

    def get(self, key: str) -> PcmAudio | None:
        """Return the cached audio, or None (a damaged entry counts as a miss)."""
        path = self._path(key)
        try:
            blob = path.read_bytes()
        except OSError:
            return None
        if len(blob) < 8 or blob[:4] != _MAGIC:
            path.unlink(missing_ok=True)
            return None
        os.utime(path)  # mark as recently used for eviction
        return PcmAudio(samples=blob[8:], sample_rate=int.from_bytes(blob[4:8], "little"))

    def put(self, key: str, audio: PcmAudio) -> None:
        """Store audio atomically (a power cut leaves either nothing or the whole entry)."""
        path = self._path(key)
        path.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(_MAGIC + audio.sample_rate.to_bytes(4, "little") + audio.samples)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def size(self) -> int:
        return sum(p.stat().st_size for p in self.directory.glob("*/*.pcm"))

    def evict(self) -> int:
        """Delete least recently used entries until under max_bytes; return how many were deleted."""
        entries = sorted(
            ((p.stat().st_mtime, p.stat().st_size, p) for p in self.directory.glob("*/*.pcm")),
            key=lambda e: e[0],
        )
        total = sum(size for _, size, _ in entries)
        removed = 0
        for _, size, path in entries:
            if total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
            removed += 1
        return removed
