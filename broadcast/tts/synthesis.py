"""Speak a whole bulletin: split into sentences, synthesise them in parallel, fall back between engines."""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass

from broadcast.tts.base import EngineConfig, PcmAudio, TtsEngine, TtsError, TtsUnavailable
from broadcast.tts.cache import SpeechCache
from broadcast.tts.registry import get_engine
from broadcast.tts.sentences import split_sentences

log = logging.getLogger(__name__)

SENTENCE_PAUSE_S = 0.35
"""Silence between sentences: the pause an announcer takes; pieces are synthesised without it."""
PARALLEL_MIN_SENTENCES = 4
"""Below this many uncached sentences a pool's start-up costs more than it saves."""

Progress = Callable[[int, int], None]
"""Told (sentences spoken so far, sentences in all) as a long bulletin is read, for a progress bar."""


@dataclass(frozen=True)
class Speech:
    """A bulletin's speech and which engine and voice really made it (after any fallback)."""

    audio: PcmAudio
    engine: str
    voice: str
    sentences: int
    cached: int


def _speak_in_worker(name: str, config: EngineConfig, text: str, voice: str) -> tuple[bytes, int]:
    """Synthesise one sentence in a worker process (module-level so the pool can pickle it)."""
    audio = get_engine(name, config).synthesize(text, voice)
    return audio.samples, audio.sample_rate


_pools: dict[str, Executor] = {}
_pools_lock = threading.Lock()


def _pool(kind: str, workers: int) -> Executor:
    """Return a shared pool; processes are spawned, never forked from a threaded server."""
    key = f"{kind}:{workers}"
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            if kind == "processes":
                context = multiprocessing.get_context("spawn")
                pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
            else:
                pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tts")
            _pools[key] = pool
        return pool


@atexit.register
def shutdown_pools() -> None:
    """Stop the worker pools (called at exit; tests may call it too)."""
    with _pools_lock:
        for pool in _pools.values():
            pool.shutdown(wait=False, cancel_futures=True)
        _pools.clear()


def _join(pieces: Sequence[PcmAudio]) -> PcmAudio:
    rate = pieces[0].sample_rate
    if any(p.sample_rate != rate for p in pieces):
        raise TtsError("Các đoạn âm thanh có tần số lấy mẫu khác nhau.")
    pause = b"\x00\x00" * int(rate * SENTENCE_PAUSE_S)
    return PcmAudio(samples=pause.join(p.samples for p in pieces), sample_rate=rate)


class Synthesizer:
    """Turn normalised text into one PCM stream with the first engine of a chain that works."""

    def __init__(
        self, config: EngineConfig, cache: SpeechCache | None = None, workers: int | None = None
    ) -> None:
        self.config = config
        self.cache = cache
        self.workers = max(1, workers or os.cpu_count() or 1)

    def speak(
        self, spoken_text: str, chain: Sequence[tuple[str, str | None]], progress: Progress | None = None
    ) -> Speech:
        """Speak with the first (engine, voice) of `chain` that is available; raise the last error."""
        sentences = split_sentences(spoken_text)
        if not sentences:
            raise TtsError("Không có nội dung để đọc: văn bản trống.")
        failures: list[str] = []
        for name, voice in chain:
            try:
                engine = get_engine(name, self.config)
                chosen = voice or engine.default_voice()
                return self._speak_with(engine, chosen, sentences, progress)
            except TtsUnavailable as exc:
                log.warning("engine %s unavailable, trying the next one: %s", name, exc)
                failures.append(f"{name}: {exc}")
        raise TtsUnavailable("Không bộ đọc nào dùng được. " + " | ".join(failures))

    def _speak_with(
        self, engine: TtsEngine, voice: str, sentences: list[str], progress: Progress | None = None
    ) -> Speech:
        options = {"rate_wpm": self.config.rate_wpm}
        cache = self.cache
        pieces = [cache.speech(engine.name, voice, options, s) if cache else None for s in sentences]
        missing = [i for i, piece in enumerate(pieces) if piece is None]
        done = len(sentences) - len(missing)
        if progress is not None:
            progress(done, len(sentences))
        for index, audio in zip(
            missing, self._synthesize_many(engine, voice, [sentences[i] for i in missing]), strict=True
        ):
            pieces[index] = audio
            if cache:
                cache.keep_speech(engine.name, voice, options, sentences[index], audio)
            done += 1
            if progress is not None:
                progress(done, len(sentences))
        ready = [p for p in pieces if p is not None]
        return Speech(_join(ready), engine.name, voice, len(sentences), len(sentences) - len(missing))

    def _synthesize_many(self, engine: TtsEngine, voice: str, texts: list[str]) -> Iterator[PcmAudio]:
        """Yield each sentence's audio in order, as soon as it is ready (the caller reports progress)."""
        if len(texts) < PARALLEL_MIN_SENTENCES or self.workers == 1:
            return (engine.synthesize(text, voice) for text in texts)
        if engine.parallelism == "processes":
            pool = _pool("processes", self.workers)
            futures = [pool.submit(_speak_in_worker, engine.name, self.config, t, voice) for t in texts]
            return (PcmAudio(*f.result()) for f in futures)
        speak: Callable[[str], PcmAudio] = lambda text: engine.synthesize(text, voice)  # noqa: E731
        return _pool("threads", self.workers).map(speak, texts)
