"""Bulletin text -> spoken text -> speech -> broadcast clip: the one path the API, CLI and benchmark share."""

from __future__ import annotations

from dataclasses import dataclass

from broadcast.audio import EncodedClip, render_clip
from broadcast.tts import TtsError, get_engine, normalize_text


@dataclass(frozen=True)
class RenderedBulletin:
    """A bulletin ready to store and play: what was read, the clip, and which engine and voice read it."""

    spoken_text: str
    clip: EncodedClip
    engine: str
    voice: str


def render_bulletin(
    text: str,
    *,
    engine: str,
    voice: str | None,
    ffmpeg: str,
    target_lufs: float,
    bitrate: str,
) -> RenderedBulletin:
    """Normalise ``text``, synthesise it with ``engine``/``voice`` and encode the broadcast clip."""
    spoken = normalize_text(text)
    if not spoken:
        raise TtsError("Bản tin không có nội dung đọc được.")
    tts = get_engine(engine)
    chosen = voice or tts.default_voice()
    speech = tts.synthesize(spoken, chosen)
    clip = render_clip(speech, ffmpeg=ffmpeg, target_lufs=target_lufs, bitrate=bitrate)
    return RenderedBulletin(spoken_text=spoken, clip=clip, engine=tts.name, voice=chosen)
