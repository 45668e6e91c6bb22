"""What the synthesizer asks of a speech cache; the render cache (clipstore.cache) owns the files."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from broadcast.tts.base import PcmAudio


class SpeechCache(Protocol):
    """Speech per sentence, keyed by engine, voice, options and normalised text (the owner adds its scope)."""

    def speech(self, engine: str, voice: str, options: Mapping[str, object], text: str) -> PcmAudio | None:
        """Return the cached speech of one sentence, or None."""

    def keep_speech(
        self, engine: str, voice: str, options: Mapping[str, object], text: str, audio: PcmAudio
    ) -> None:
        """Store the speech of one sentence."""
