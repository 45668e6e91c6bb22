"""The offline Vietnamese recogniser that stands in for a listener: viet-asr (the pinned extra ``asr``).

Its acoustic model and vocabulary are compiled into the wheel's ``libvietasr.so`` and the build has no
HTTP client, so transcribing never touches the network. It reads 16-bit PCM mono WAV; speech is
resampled to its rate without dither (`broadcast.audio.ffmpeg.resample_pcm`) and written as such a file.
"""

from __future__ import annotations

import importlib
import tempfile
import wave
from pathlib import Path
from typing import Any

from broadcast.audio.base import SAMPLE_WIDTH, PcmAudio
from broadcast.audio.ffmpeg import ffmpeg_exe, resample_pcm

SAMPLE_RATE = 16000
"""The rate the recogniser's model was trained at."""

PACKAGE = "viet-asr"
PRESET = "transcribe"  # voice activity detection + recognition: plain lower-case words, no punctuation


class RecogniserMissing(RuntimeError):
    """viet-asr is not installed (``pip install -e '.[asr]'``)."""


def load_vietasr() -> Any:
    """Import viet-asr (an untyped package, hence Any) or say how to install it."""
    try:
        return importlib.import_module("vietasr")
    except ImportError as exc:
        raise RecogniserMissing(
            f"the recogniser is not installed: pip install -e '.[asr]' ({PACKAGE}): {exc}"
        ) from exc


def write_wav(path: Path, audio: PcmAudio) -> None:
    """Write mono 16-bit PCM ``audio`` as a WAV file."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(SAMPLE_WIDTH)
        out.setframerate(audio.sample_rate)
        out.writeframes(audio.samples)


class Recogniser:
    """One loaded viet-asr pipeline (~70 MB model, ~0.6 s to load); not shared between threads."""

    def __init__(self, ffmpeg: str | None = None) -> None:
        self.version = str(load_vietasr().__version__)
        self._pipeline = load_vietasr().Pipeline.preset(PRESET)
        self.ffmpeg = ffmpeg_exe(ffmpeg)

    def transcribe(self, audio: PcmAudio) -> str:
        """Return what the recogniser hears in ``audio`` (any rate; resampled to its own without dither)."""
        pcm = (
            audio
            if audio.sample_rate == SAMPLE_RATE
            else resample_pcm(audio, self.ffmpeg, sample_rate=SAMPLE_RATE)
        )
        with tempfile.TemporaryDirectory(prefix="asr-") as scratch:
            path = Path(scratch) / "speech.wav"
            write_wav(path, pcm)
            return str(self._pipeline.transcribe(path).text)
