"""Text-to-speech: normalise Vietnamese bulletin text, then speak it with a pluggable engine."""

from __future__ import annotations

from broadcast.tts.base import EngineConfig, PcmAudio, TtsEngine, TtsError, TtsUnavailable
from broadcast.tts.normalize import normalize_text, unknown_abbreviations, unread_tokens
from broadcast.tts.registry import engine_names, get_engine
from broadcast.tts.sentences import split_sentences

__all__ = [
    "EngineConfig",
    "PcmAudio",
    "TtsEngine",
    "TtsError",
    "TtsUnavailable",
    "engine_names",
    "get_engine",
    "normalize_text",
    "split_sentences",
    "unknown_abbreviations",
    "unread_tokens",
]
