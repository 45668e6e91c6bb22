"""The engine contract every TTS backend implements (the PCM it returns is `broadcast.audio`'s)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal, final

from broadcast.audio.base import SAMPLE_WIDTH, PcmAudio

__all__ = ["SAMPLE_WIDTH", "EngineConfig", "PcmAudio", "TtsEngine", "TtsError", "TtsUnavailable"]


class TtsError(Exception):
    """A bulletin could not be turned into speech; the message is shown to commune staff."""


class TtsUnavailable(TtsError):
    """The engine cannot work right now (offline, quota, server error, voice not installed).

    The fallback chain moves on to the next engine on this error; any other TtsError (bad input) stops it.
    """


@dataclass(frozen=True)
class EngineConfig:
    """What an engine may need from the station's settings; engines never read the environment."""

    data_dir: Path = Path("./var")
    ffmpeg: str = ""  # decoder for engines that deliver MP3 (gTTS, edge-tts); "" = the imageio-ffmpeg wheel's
    timeout_s: float = 20.0
    rate_wpm: int = 150
    gtts_url: str = "https://translate.google.com"
    edge_url: str = "wss://speech.platform.bing.com"
    voices_mirror: str = "https://huggingface.co/rhasspy/piper-voices/resolve/main"

    @property
    def voices_dir(self) -> Path:
        """Return where installed offline voices (Piper, vietTTS) live."""
        return self.data_dir / "voices"


class TtsEngine(ABC):
    """A speech synthesiser; subclasses implement ``_synthesize`` and ``voices``.

    Engines are built by the registry as ``EngineClass(config)`` and shared between threads, so
    ``_synthesize`` must be thread-safe (take a lock if the backend is not).
    """

    name: str
    parallelism: ClassVar[Literal["threads", "processes"]] = "threads"
    """How sentences of one bulletin run in parallel: threads when the backend releases the GIL or waits
    on the network; processes when it holds process-wide state (espeak-ng)."""

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()

    @final
    def synthesize(self, text: str, voice: str | None = None) -> PcmAudio:
        """Speak already-normalised ``text`` with ``voice`` (engine default when None)."""
        if not text.strip():
            raise TtsError("Không có nội dung để đọc: văn bản trống.")
        if voice is not None and voice not in self.voices():
            known = ", ".join(self.voices())
            raise TtsError(f"Giọng đọc «{voice}» không có trong bộ {self.name}. Các giọng hiện có: {known}.")
        return self._synthesize(text, voice or self.default_voice())

    def default_voice(self) -> str:
        """Return the voice used when none is asked for."""
        return self.voices()[0]

    @abstractmethod
    def _synthesize(self, text: str, voice: str) -> PcmAudio:
        """Speak non-empty ``text`` with a voice known to be valid."""

    @abstractmethod
    def voices(self) -> list[str]:
        """Return the voice names this engine accepts, default first."""
