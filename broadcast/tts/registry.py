"""Look up TTS engines by name, importing each backend module (and its heavy deps) only when first used."""

from __future__ import annotations

import importlib
import threading

from broadcast.tts.base import EngineConfig, TtsEngine, TtsError, TtsUnavailable

ENGINES: dict[str, str] = {
    "espeak": "broadcast.tts.engines.espeak:EspeakEngine",
    "piper": "broadcast.tts.engines.piper:PiperEngine",
    "gtts": "broadcast.tts.engines.gtts:GttsEngine",
    "edge": "broadcast.tts.engines.edge:EdgeEngine",
    "viettts": "broadcast.tts.engines.viettts:VietTtsEngine",
}
"""Engine name -> ``module:Class``; a new backend is one module under engines/ plus one line here."""

_instances: dict[tuple[str, EngineConfig], TtsEngine] = {}
_lock = threading.Lock()


def engine_names() -> list[str]:
    """Return the names of all known engines, sorted."""
    return sorted(ENGINES)


def get_engine(name: str, config: EngineConfig | None = None) -> TtsEngine:
    """Return the shared instance of engine ``name`` for ``config``, creating it on first use."""
    key = (name, config or EngineConfig())
    with _lock:
        engine = _instances.get(key)
        if engine is None:
            engine = _instances[key] = _create(name, key[1])
        return engine


def _create(name: str, config: EngineConfig) -> TtsEngine:
    """Import the module of engine ``name`` and instantiate its class."""
    target = ENGINES.get(name)
    if target is None:
        known = ", ".join(engine_names())
        raise TtsError(f"Không có bộ đọc «{name}». Các bộ đọc hiện có: {known}.")
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise TtsUnavailable(f"Bộ đọc «{name}» chưa được cài đặt đầy đủ: {exc}.") from exc
    engine_class = getattr(module, class_name)
    engine = engine_class(config)
    if not isinstance(engine, TtsEngine):  # pragma: no cover - a wiring mistake, not user input
        raise TypeError(f"{target} is not a TtsEngine")
    return engine
