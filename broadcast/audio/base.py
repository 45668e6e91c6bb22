"""What the audio side hands around: PCM, finished clips, decoded recordings, and its one error."""

from __future__ import annotations

from dataclasses import dataclass

SAMPLE_WIDTH = 2
"""Bytes per sample: every engine returns, and the pipeline takes, signed 16-bit little-endian mono PCM."""


class AudioError(Exception):
    """Audio could not be produced or checked; the message is shown to commune staff."""


@dataclass(frozen=True)
class PcmAudio:
    """Signed 16-bit little-endian mono PCM at ``sample_rate`` Hz."""

    samples: bytes
    sample_rate: int

    @property
    def frame_count(self) -> int:
        """Return the number of samples."""
        return len(self.samples) // SAMPLE_WIDTH

    @property
    def duration_s(self) -> float:
        """Return the length of the audio in seconds."""
        if self.sample_rate <= 0:
            return 0.0
        return self.frame_count / self.sample_rate


@dataclass(frozen=True)
class EncodedClip:
    """A finished MP3 clip with its decoded duration and measured integrated loudness."""

    data: bytes
    duration_s: float
    loudness_lufs: float


@dataclass(frozen=True)
class DecodedRecording:
    """A recorded file decoded to mono PCM, with the duration its header declared and decoder errors."""

    pcm: PcmAudio
    declared_s: float | None
    errors: tuple[str, ...]
