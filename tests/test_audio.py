"""Real ffmpeg: the broadcast clip is a mono MP3 at the target loudness, with the chime before speech."""

from __future__ import annotations

import array
import os

import pytest

from broadcast.audio import (
    AudioError,
    EncodedClip,
    chime,
    decode_duration,
    ffmpeg_exe,
    measure_loudness,
    render_clip,
)
from broadcast.audio import ffmpeg as ffmpeg_adapter
from broadcast.tts import PcmAudio, get_engine, normalize_text

SHORT = "Xin chào bà con."
LONG = (
    "Ngày 1/10, UBND xã tổ chức tiêm vắc xin đợt 3 cho người từ 18 tuổi trở lên tại trạm y tế xã, "
    "từ 7h30 đến 11h và từ 13h30 đến 17h. Đề nghị bà con mang theo căn cước công dân và sổ tiêm chủng. "
) * 4
MPEG_RATES = {(3, 0): 44100, (3, 1): 48000, (3, 2): 32000, (2, 0): 22050, (2, 1): 24000, (2, 2): 16000}


@pytest.fixture(scope="module")
def ffmpeg() -> str:
    return ffmpeg_exe(None)


def _speech(text: str) -> PcmAudio:
    return get_engine("espeak").synthesize(normalize_text(text))


def _first_frame(data: bytes) -> bytes:
    """Return the 4-byte header of the first MPEG audio frame, after any ID3v2 tag."""
    offset = 0
    if data[:3] == b"ID3":
        size = data[6:10]
        offset = 10 + (size[0] << 21 | size[1] << 14 | size[2] << 7 | size[3])
    while offset + 4 <= len(data):
        if data[offset] == 0xFF and data[offset + 1] & 0xE0 == 0xE0:
            return data[offset : offset + 4]
        offset += 1
    raise AssertionError("no MPEG frame found")


@pytest.fixture(scope="module")
def short_clip(ffmpeg: str) -> tuple[PcmAudio, EncodedClip]:
    speech = _speech(SHORT)
    return speech, render_clip(speech, ffmpeg=ffmpeg)


@pytest.fixture(scope="module")
def long_clip(ffmpeg: str) -> tuple[PcmAudio, EncodedClip]:
    speech = _speech(LONG)
    return speech, render_clip(speech, ffmpeg=ffmpeg, target_lufs=-16.0, bitrate="48k")


def test_ffmpeg_exe_prefers_the_configured_binary() -> None:
    assert ffmpeg_exe("/opt/ffmpeg") == "/opt/ffmpeg"
    assert os.access(ffmpeg_exe(None), os.X_OK)


def test_chime_is_a_short_audible_tone() -> None:
    tone = chime(22050)
    assert tone.sample_rate == 22050
    assert 1.0 <= tone.duration_s <= 1.5
    samples = array.array("h", tone.samples)
    assert 0.4 * 32767 < max(abs(s) for s in samples) <= 0.55 * 32767
    assert samples[0] == 0 and abs(samples[-1]) < 50  # no click at either end


@pytest.mark.parametrize("clip_name", ["short_clip", "long_clip"])
def test_clip_is_mono_mp3_at_target_loudness(
    clip_name: str, ffmpeg: str, request: pytest.FixtureRequest
) -> None:
    speech, clip = request.getfixturevalue(clip_name)
    header = _first_frame(clip.data)
    version = (header[1] >> 3) & 3
    assert (header[1] >> 1) & 3 == 1, "not MPEG layer III"
    assert (header[3] >> 6) & 3 == 3, "not mono"
    assert MPEG_RATES[(version, (header[2] >> 2) & 3)] == speech.sample_rate
    measured = measure_loudness(clip.data, ffmpeg)
    assert measured == pytest.approx(-16.0, abs=1.0)
    assert clip.loudness_lufs == pytest.approx(measured, abs=0.05)


@pytest.mark.parametrize("clip_name", ["short_clip", "long_clip"])
def test_clip_holds_chime_speech_and_tail(
    clip_name: str, ffmpeg: str, request: pytest.FixtureRequest
) -> None:
    speech, clip = request.getfixturevalue(clip_name)
    assert clip.duration_s == pytest.approx(decode_duration(clip.data, ffmpeg), abs=0.01)
    # lead 0.1 s + chime 1.2 s + gap 0.45 s + speech + tail 0.6 s, plus MP3 encoder padding
    assert speech.duration_s + 2.3 < clip.duration_s < speech.duration_s + 2.6


def test_clip_without_chime_is_shorter_and_still_normalised(ffmpeg: str) -> None:
    speech = _speech(SHORT)
    clip = render_clip(speech, ffmpeg=ffmpeg, with_chime=False, target_lufs=-20.0)
    assert speech.duration_s + 0.6 < clip.duration_s < speech.duration_s + 0.9
    assert measure_loudness(clip.data, ffmpeg) == pytest.approx(-20.0, abs=1.0)


@pytest.mark.parametrize(
    "pcm",
    [
        PcmAudio(samples=b"", sample_rate=22050),
        PcmAudio(samples=b"\x01\x02\x03", sample_rate=22050),
        PcmAudio(samples=b"\x00\x10" * 22050, sample_rate=0),
        PcmAudio(samples=b"\x00\x00" * 22050, sample_rate=22050),  # silence cannot be normalised
    ],
    ids=["empty", "odd-bytes", "no-rate", "silence"],
)
def test_bad_pcm_raises(pcm: PcmAudio, ffmpeg: str) -> None:
    with pytest.raises(AudioError):
        render_clip(pcm, ffmpeg=ffmpeg)


def test_garbage_mp3_raises(ffmpeg: str) -> None:
    with pytest.raises(AudioError):
        measure_loudness(b"this is not audio" * 100, ffmpeg)
    with pytest.raises(AudioError):
        decode_duration(b"", ffmpeg)


def test_missing_ffmpeg_raises() -> None:
    with pytest.raises(AudioError, match="ffmpeg"):
        render_clip(_speech(SHORT), ffmpeg="/nonexistent/ffmpeg")


def test_bad_bitrate_raises(ffmpeg: str) -> None:
    with pytest.raises(AudioError):
        render_clip(_speech(SHORT), ffmpeg=ffmpeg, bitrate="lots")


def test_a_stuck_ffmpeg_is_killed_at_its_deadline(ffmpeg: str) -> None:
    endless = ["-f", "lavfi", "-i", "anullsrc", "-f", "null", "-"]  # a source that never ends
    with pytest.raises(AudioError, match="quá"):
        ffmpeg_adapter.run(ffmpeg, endless, b"", timeout=0.5)
