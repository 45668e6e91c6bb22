"""The render cache: the one owner of cached speech (PCM per sentence) and clips (MP3 per bulletin).

Like Home Assistant's SpeechManager, one object keeps both caches under one key scheme:
sha256 of (kind, scope, parts), where `scope` names what else shapes the audio (engine endpoints, the
MP3 decoder's build) so one directory can be shared by differently configured stations. The cache is
bounded: after a render, the least recently used entries (a hit counts as a use) go first until the
whole cache, speech and clips together, fits in `max_bytes`. Every entry is one file written atomically
(`write_atomic`, not fsynced: a lost entry costs one synthesis), so several processes may share the
directory: a reader sees a whole entry or none, and an entry another process evicted is a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from broadcast.audio import EncodedClip, PcmAudio
from broadcast.storage.files import write_atomic

DEFAULT_MAX_BYTES = 1024 * 1024 * 1024
_SPEECH, _CLIP = "speech", "clips"
_SUFFIX = {_SPEECH: ".pcm", _CLIP: ".clip"}
_PCM_MAGIC, _CLIP_MAGIC = b"PCM1", b"CLP1"


@dataclass(frozen=True)
class CachedClip:
    """A clip from the cache and what was stored with it (spoken text, engine, voice)."""

    clip: EncodedClip
    meta: Mapping[str, str]


class RenderCache:
    """Speech and clips on disk under one key scheme, bounded by `max_bytes` with LRU eviction."""

    def __init__(self, directory: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, scope: str = "") -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.scope = scope

    def key(self, kind: str, parts: Sequence[object]) -> str:
        """Return the key of an entry of ``kind`` made from ``parts`` in this cache's scope."""
        blob = json.dumps([kind, self.scope, list(parts)], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    def speech(self, engine: str, voice: str, options: Mapping[str, object], text: str) -> PcmAudio | None:
        """Return the cached speech of one sentence, or None."""
        blob = self._read(_SPEECH, self.key(_SPEECH, [engine, voice, options, text]))
        if blob is None or len(blob) < 8 or blob[:4] != _PCM_MAGIC:
            return None
        return PcmAudio(samples=blob[8:], sample_rate=int.from_bytes(blob[4:8], "little"))

    def keep_speech(
        self, engine: str, voice: str, options: Mapping[str, object], text: str, audio: PcmAudio
    ) -> None:
        """Store the speech of one sentence."""
        header = _PCM_MAGIC + audio.sample_rate.to_bytes(4, "little")
        self._write(_SPEECH, self.key(_SPEECH, [engine, voice, options, text]), header + audio.samples)

    def clip(self, parts: Sequence[object]) -> CachedClip | None:
        """Return the clip stored under ``parts``, or None (a damaged entry is a miss)."""
        blob = self._read(_CLIP, self.key(_CLIP, parts))
        if blob is None or len(blob) < 8 or blob[:4] != _CLIP_MAGIC:
            return None
        size = int.from_bytes(blob[4:8], "little")
        try:
            meta = json.loads(blob[8 : 8 + size])
        except ValueError:
            return None
        data = blob[8 + size :]
        if not isinstance(meta, dict) or hashlib.sha256(data).hexdigest() != meta.pop("sha256", None):
            return None
        clip = EncodedClip(data, float(meta.pop("duration_s")), float(meta.pop("loudness_lufs")))
        return CachedClip(clip, meta)

    def keep_clip(self, parts: Sequence[object], clip: EncodedClip, meta: Mapping[str, str]) -> None:
        """Store ``clip`` and its ``meta`` under ``parts``."""
        facts = {
            **meta,
            "sha256": hashlib.sha256(clip.data).hexdigest(),
            "duration_s": clip.duration_s,
            "loudness_lufs": clip.loudness_lufs,
        }
        header = json.dumps(facts, ensure_ascii=False).encode()
        blob = _CLIP_MAGIC + len(header).to_bytes(4, "little") + header + clip.data
        self._write(_CLIP, self.key(_CLIP, parts), blob)

    def size(self) -> int:
        """Return the bytes the cache's entries take."""
        return sum(size for _, size, _ in self._entries())

    def evict(self) -> int:
        """Delete least recently used entries until the cache fits in max_bytes; return how many went."""
        for legacy in (*self.directory.glob(f"{_CLIP}/*.mp3"), *self.directory.glob(f"{_CLIP}/*.json")):
            legacy.unlink(missing_ok=True)  # the unbounded clip cache of earlier releases: never read now
        entries = sorted(self._entries(), key=lambda entry: entry[0])
        total = sum(size for _, size, _ in entries)
        removed = 0
        for _, size, path in entries:
            if total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)  # another process may have evicted it first
            total -= size
            removed += 1
        return removed

    def _path(self, kind: str, key: str) -> Path:
        return self.directory / kind / key[:2] / f"{key}{_SUFFIX[kind]}"

    def _read(self, kind: str, key: str) -> bytes | None:
        """Return an entry's bytes and mark it recently used, or None if it is missing."""
        path = self._path(kind, key)
        try:
            blob = path.read_bytes()
            os.utime(path)  # the eviction order: least recently used first
        except OSError:  # missing, or evicted by another process between the two calls
            return None
        return blob

    def _write(self, kind: str, key: str, blob: bytes) -> None:
        path = self._path(kind, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, blob, durable=False)

    def _entries(self) -> list[tuple[float, int, Path]]:
        """Return (last use, size, path) of every entry; one evicted meanwhile is skipped."""
        found: list[tuple[float, int, Path]] = []
        for kind, suffix in _SUFFIX.items():
            for path in self.directory.glob(f"{kind}/*/*{suffix}"):
                try:
                    info = path.stat()
                except FileNotFoundError:
                    continue
                found.append((info.st_mtime, info.st_size, path))
        return found
