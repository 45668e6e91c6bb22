"""The ``viettts`` engine: NTT123's vietTTS voice from checkpoints the operator copies into the voices folder.

Importing this module costs nothing: JAX, Haiku and NumPy are imported the first time a bulletin is spoken,
so the station starts (and every other engine works) on machines without them.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from broadcast.tts.base import EngineConfig, PcmAudio, TtsEngine, TtsError, TtsUnavailable
from broadcast.tts.engines.viettts.config import check_installed

if TYPE_CHECKING:
    from broadcast.tts.engines.viettts.synthesizer import Synthesizer

VOICE = "viettts"
"""The one voice: whatever model the operator installed (the released one speaks as the InfoRe reader)."""

NEEDED_MODULES: tuple[str, ...] = ("jax", "haiku", "numpy")

JAX_MISSING = (
    "Bộ đọc vietTTS cần thư viện JAX và dm-haiku, máy này chưa cài. "
    "Hãy cài bằng: pip install 'loa-xa[viettts]' (hoặc pip install jax dm-haiku)."
)


def voice_dir(config: EngineConfig) -> Path:
    """Return where the operator puts the vietTTS checkpoints."""
    return config.voices_dir / "viettts"


class VietTtsEngine(TtsEngine):
    """Offline neural Vietnamese voice (duration + acoustic model + HiFi-GAN) on JAX, CPU only."""

    name = "viettts"
    # XLA already spreads one synthesis over every core; worker processes would each load ~0.8 GB and
    # compile again, so sentences share this process's model one after another.
    parallelism = "threads"

    def __init__(self, config: EngineConfig | None = None) -> None:
        super().__init__(config)
        self.directory = voice_dir(self.config)
        self._synthesizer: Synthesizer | None = None
        self._lock = threading.Lock()

    def voices(self) -> list[str]:
        """Return the single voice name; whether it is installed is checked when speaking."""
        return [VOICE]

    def _load(self) -> Synthesizer:
        """Load the voice on first use; a failure is not cached, so copying the files in later works."""
        with self._lock:
            if self._synthesizer is not None:
                return self._synthesizer
            check_installed(self.directory)
            if any(importlib.util.find_spec(module) is None for module in NEEDED_MODULES):
                raise TtsUnavailable(JAX_MISSING)
            # Deferred imports: this is where JAX starts, the first time the voice is needed.
            from broadcast.tts.engines.viettts.synthesizer import Synthesizer
            from broadcast.tts.engines.viettts.voice import read_voice

            self._synthesizer = Synthesizer(read_voice(self.directory))
            return self._synthesizer

    def _synthesize(self, text: str, voice: str) -> PcmAudio:
        """Speak ``text``; the synthesizer serialises calls, JAX itself uses every core."""
        synthesizer = self._load()
        samples = synthesizer.synthesize(text)
        if not samples:
            raise TtsError("Bộ đọc vietTTS không tạo ra âm thanh cho văn bản này.")
        return PcmAudio(samples=samples, sample_rate=synthesizer.sample_rate)
