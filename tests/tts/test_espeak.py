"""Real espeak-ng synthesis through the registry: durations, voices and errors."""

from __future__ import annotations

import array

import pytest

from broadcast.tts import EngineConfig, PcmAudio, TtsError, engine_names, get_engine
from broadcast.tts.engines.espeak import VOICES, EspeakEngine

SHORT = "Ủy ban nhân dân xã thông báo."
LONG = (
    "Ủy ban nhân dân xã thông báo: ngày mười lăm tháng tư, toàn xã tổng vệ sinh môi trường. "
    "Đề nghị các hộ gia đình dọn dẹp đường làng, ngõ xóm, khơi thông cống rãnh, "
    "thu gom rác thải đúng nơi quy định, để phòng chống dịch bệnh trong mùa mưa bão."
)


def _peak(audio: PcmAudio) -> int:
    return max(abs(sample) for sample in array.array("h", audio.samples))


def test_registry_knows_espeak_and_caches_the_instance() -> None:
    assert "espeak" in engine_names()
    assert get_engine("espeak") is get_engine("espeak")
    assert get_engine("espeak").name == "espeak"


def test_unknown_engine_raises_with_known_names() -> None:
    with pytest.raises(TtsError, match="espeak"):
        get_engine("no-such-engine")


def test_vietnamese_text_gives_audible_pcm() -> None:
    audio = get_engine("espeak").synthesize(SHORT)
    assert audio.sample_rate == 22050
    assert len(audio.samples) % 2 == 0
    assert 0.8 < audio.duration_s < 5.0
    assert _peak(audio) > 3000


def test_duration_scales_with_text_length() -> None:
    engine = get_engine("espeak")
    short = engine.synthesize(SHORT).duration_s
    long = engine.synthesize(LONG).duration_s
    ratio = long / short
    assert 3.0 < ratio < 12.0, (short, long)


def test_slower_rate_gives_longer_audio() -> None:
    normal = EspeakEngine(EngineConfig(rate_wpm=175)).synthesize(LONG).duration_s
    slow = EspeakEngine(EngineConfig(rate_wpm=120)).synthesize(LONG).duration_s
    assert slow > normal * 1.15


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text_raises(text: str) -> None:
    with pytest.raises(TtsError):
        get_engine("espeak").synthesize(text)


def test_unknown_voice_raises() -> None:
    with pytest.raises(TtsError, match="en-us"):
        get_engine("espeak").synthesize(SHORT, voice="en-us")


def test_all_three_voices_exist_and_speak() -> None:
    engine = get_engine("espeak")
    assert engine.voices() == list(VOICES)
    audios = {voice: engine.synthesize(SHORT, voice=voice) for voice in VOICES}
    for voice, audio in audios.items():
        assert audio.duration_s > 0.8, voice
        assert _peak(audio) > 3000, voice
    # The regional voices use their own phoneme tables: the audio must differ from the northern one.
    assert audios["vi-vn-x-south"].samples != audios["vi"].samples
    assert audios["vi-vn-x-central"].samples != audios["vi"].samples


def test_rate_outside_range_raises() -> None:
    with pytest.raises(TtsError):
        EspeakEngine(EngineConfig(rate_wpm=20))
