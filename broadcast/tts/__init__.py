"""Text-to-speech: normalise Vietnamese bulletin text, then speak it with a pluggable engine."""

from __future__ import annotations

from broadcast.tts.base import PcmAudio, TtsEngine, TtsError
from broadcast.tts.normalize import normalize_text, unknown_abbreviations
from broadcast.tts.registry import engine_names, get_engine

__all__ = [
    "PcmAudio",
    "TtsEngine",
    "TtsError",
    "engine_names",
    "get_engine",
    "normalize_text",
    "unknown_abbreviations",
]
