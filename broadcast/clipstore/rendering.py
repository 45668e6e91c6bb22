"""Bulletin text -> spoken text -> speech -> broadcast clip: the one path the API, CLI and benches share."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from broadcast.audio import EncodedClip, ffmpeg_exe, render_clip
from broadcast.config import Settings
from broadcast.tts import EngineConfig, TtsError, normalize_text
from broadcast.tts.cache import SpeechCache
from broadcast.tts.synthesis import Progress, Synthesizer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderedBulletin:
    """A bulletin ready to store and play: what was read, the clip, and which engine and voice read it."""

    spoken_text: str
    clip: EncodedClip
    engine: str
    voice: str
    cached: bool = False


@dataclass(frozen=True)
class RenderOptions:
    """How to read and encode: the engine chain (first that works), voice, loudness, bitrate, caches."""

    chain: tuple[str, ...]
    voice: str | None
    engine_config: EngineConfig
    ffmpeg: str
    target_lufs: float = -16.0
    bitrate: str = "48k"
    cache_dir: Path | None = None
    workers: int | None = None
    with_chime: bool = True
    extra: Mapping[str, str] = field(default_factory=dict)


def engine_config(settings: Settings) -> EngineConfig:
    """Return what engines need from the station settings."""
    return EngineConfig(
        data_dir=settings.data_dir,
        ffmpeg=settings.ffmpeg_bin or "",
        timeout_s=settings.tts_timeout_s,
        rate_wpm=settings.tts_rate_wpm,
        gtts_url=settings.gtts_url,
        edge_url=settings.edge_tts_url,
        voices_mirror=settings.voices_mirror,
    )


def render_options(settings: Settings, engine: str | None = None, voice: str | None = None) -> RenderOptions:
    """Return options for `engine` (default: the configured one) falling back along settings.tts_fallback."""
    first = engine or settings.tts_engine
    chain = tuple(dict.fromkeys([first, *settings.tts_fallback]))
    return RenderOptions(
        chain=chain,
        voice=voice or (settings.tts_voice if first == settings.tts_engine else None),
        engine_config=engine_config(settings),
        ffmpeg=ffmpeg_exe(settings.ffmpeg_bin),
        target_lufs=settings.loudness_lufs,
        bitrate=settings.mp3_bitrate,
        cache_dir=settings.cache_dir,
        workers=settings.tts_workers,
    )


def binary_identity(path: str) -> list[object]:
    """Return what tells one build of an executable from another: resolved path, size, modified time."""
    found = shutil.which(path) or path
    try:
        info = os.stat(found)
    except OSError:  # missing: the render fails anyway, and nothing is stored under this key
        return [found]
    return [os.path.realpath(found), info.st_size, info.st_mtime_ns]


def engine_scope(config: EngineConfig) -> str:
    """Return what changes any engine's speech besides engine, voice and text: endpoints, MP3 decoder."""
    decoder = binary_identity(ffmpeg_exe(config.ffmpeg or None))
    return json.dumps([config.gtts_url, config.edge_url, config.rate_wpm, decoder])


def _clip_key(spoken: str, options: RenderOptions) -> str:
    # Everything that changes the clip: a shared cache (several stations, the test suite) or a station
    # whose ffmpeg or engine server changed must never serve a clip another setup made.
    parts = [
        options.chain[0],
        options.voice,
        spoken,
        options.target_lufs,
        options.bitrate,
        options.with_chime,
        engine_scope(options.engine_config),
        binary_identity(options.ffmpeg),
    ]
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()


def _cached_clip(directory: Path, key: str) -> RenderedBulletin | None:
    try:
        meta = json.loads((directory / f"{key}.json").read_text())
        data = (directory / f"{key}.mp3").read_bytes()
    except (OSError, ValueError):
        return None
    if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
        return None
    clip = EncodedClip(data=data, duration_s=meta["duration_s"], loudness_lufs=meta["loudness_lufs"])
    return RenderedBulletin(meta["spoken_text"], clip, meta["engine"], meta["voice"], cached=True)


def _store_clip(directory: Path, key: str, rendered: RenderedBulletin) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    meta = {
        "sha256": hashlib.sha256(rendered.clip.data).hexdigest(),
        "duration_s": rendered.clip.duration_s,
        "loudness_lufs": rendered.clip.loudness_lufs,
        "spoken_text": rendered.spoken_text,
        "engine": rendered.engine,
        "voice": rendered.voice,
    }
    for suffix, blob in (
        (".mp3", rendered.clip.data),
        (".json", json.dumps(meta, ensure_ascii=False).encode()),
    ):
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".part")
        with os.fdopen(fd, "wb") as handle:
            handle.write(blob)
        os.replace(tmp, directory / f"{key}{suffix}")


def render_bulletin(text: str, options: RenderOptions, progress: Progress | None = None) -> RenderedBulletin:
    """Normalise `text` (with the commune's dictionary), speak it and encode the broadcast clip.

    `progress` hears (sentences spoken, sentences in all) while a long text is read.
    """
    spoken = normalize_text(text, options.extra)
    if not spoken:
        raise TtsError("Bản tin không có nội dung đọc được.")
    clip_dir = options.cache_dir / "clips" if options.cache_dir else None
    key = _clip_key(spoken, options)
    if clip_dir is not None and (hit := _cached_clip(clip_dir, key)) is not None:
        return hit
    speech_cache = (
        SpeechCache(options.cache_dir / "speech", scope=engine_scope(options.engine_config))
        if options.cache_dir
        else None
    )
    synthesizer = Synthesizer(options.engine_config, speech_cache, options.workers)
    chain = [(name, options.voice if i == 0 else None) for i, name in enumerate(options.chain)]
    speech = synthesizer.speak(spoken, chain, progress)
    clip = render_clip(
        speech.audio,
        ffmpeg=options.ffmpeg,
        target_lufs=options.target_lufs,
        bitrate=options.bitrate,
        with_chime=options.with_chime,
    )
    rendered = RenderedBulletin(spoken, clip, speech.engine, speech.voice)
    if clip_dir is not None and speech.engine == options.chain[0]:
        _store_clip(
            clip_dir, key, rendered
        )  # a fallback's clip is not cached: retry the first engine next time
    if speech_cache is not None:
        speech_cache.evict()
    return rendered
