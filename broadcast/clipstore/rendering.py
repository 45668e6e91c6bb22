"""Bulletin text -> spoken text -> speech -> broadcast clip: the one path the API, CLI and benches share."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import astuple, dataclass, field
from pathlib import Path

from broadcast.audio import EncodedClip, binary_identity, ffmpeg_exe, render_clip
from broadcast.clipstore.cache import DEFAULT_MAX_BYTES, RenderCache
from broadcast.config import SpeechSettings
from broadcast.tts import EngineConfig, TtsError, normalize_text
from broadcast.tts.engines.espeak import DEFAULT_SETTINGS as ESPEAK_READING
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
    cache_max_bytes: int = DEFAULT_MAX_BYTES
    workers: int | None = None
    with_chime: bool = True
    extra: Mapping[str, str] = field(default_factory=dict)


def engine_config(speech: SpeechSettings) -> EngineConfig:
    """Return what engines need from the station's speech settings."""
    return EngineConfig(
        data_dir=speech.voices_dir.parent,  # engines keep their voices in data_dir/voices
        ffmpeg=speech.ffmpeg_bin or "",
        timeout_s=speech.tts_timeout_s,
        rate_wpm=speech.tts_rate_wpm,
        gtts_url=speech.gtts_url,
        edge_url=speech.edge_tts_url,
        voices_mirror=speech.voices_mirror,
    )


def render_options(
    speech: SpeechSettings, engine: str | None = None, voice: str | None = None
) -> RenderOptions:
    """Return options for `engine` (default: the configured one) falling back along speech.tts_fallback."""
    first = engine or speech.tts_engine
    chain = tuple(dict.fromkeys([first, *speech.tts_fallback]))
    return RenderOptions(
        chain=chain,
        voice=voice or (speech.tts_voice if first == speech.tts_engine else None),
        engine_config=engine_config(speech),
        ffmpeg=ffmpeg_exe(speech.ffmpeg_bin),
        target_lufs=speech.loudness_lufs,
        bitrate=speech.mp3_bitrate,
        cache_dir=speech.cache_dir,
        cache_max_bytes=speech.render_cache_mb * 1024 * 1024,
        workers=speech.tts_workers,
    )


def engine_scope(config: EngineConfig) -> str:
    """Return what changes any engine's speech besides engine, voice and text: endpoints, MP3 decoder,
    espeak-ng's reading (variant, pitch, range, word gap: a new default must not meet old renders)."""
    decoder = binary_identity(ffmpeg_exe(config.ffmpeg or None))
    return json.dumps([config.gtts_url, config.edge_url, config.rate_wpm, decoder, astuple(ESPEAK_READING)])


def _clip_parts(spoken: str, options: RenderOptions) -> list[object]:
    """Return everything besides the engines' scope that changes the clip: a shared cache (several
    stations, the test suite) or a station whose ffmpeg changed must never serve a clip another made."""
    return [
        options.chain[0],
        options.voice,
        spoken,
        options.target_lufs,
        options.bitrate,
        options.with_chime,
        binary_identity(options.ffmpeg),
    ]


def render_cache(options: RenderOptions) -> RenderCache | None:
    """Return the render cache these options name (None: no cache)."""
    if options.cache_dir is None:
        return None
    scope = engine_scope(options.engine_config)
    return RenderCache(options.cache_dir, max_bytes=options.cache_max_bytes, scope=scope)


def render_bulletin(text: str, options: RenderOptions, progress: Progress | None = None) -> RenderedBulletin:
    """Normalise `text` (with the commune's dictionary), speak it and encode the broadcast clip.

    `progress` hears (sentences spoken, sentences in all) while a long text is read. Online engines are
    called here: never call this with a database transaction open.
    """
    spoken = normalize_text(text, options.extra)
    if not spoken:
        raise TtsError("Bản tin không có nội dung đọc được.")
    cache = render_cache(options)
    parts = _clip_parts(spoken, options)
    if cache is not None and (hit := cache.clip(parts)) is not None:
        meta = hit.meta
        return RenderedBulletin(meta["spoken_text"], hit.clip, meta["engine"], meta["voice"], cached=True)
    synthesizer = Synthesizer(options.engine_config, cache, options.workers)
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
    if cache is not None:
        if speech.engine == options.chain[0]:  # a fallback's clip is not kept: try the first engine next time
            meta = {"spoken_text": spoken, "engine": speech.engine, "voice": speech.voice}
            cache.keep_clip(parts, clip, meta)
        cache.evict()
    return rendered
