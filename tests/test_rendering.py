"""The shared bulletin path: text -> spoken text -> espeak -> MP3 clip."""

from __future__ import annotations

import pytest

from broadcast.audio import ffmpeg_exe, measure_loudness
from broadcast.rendering import render_bulletin
from broadcast.tts import TtsError

BULLETIN = "<p>THÔNG BÁO: Ngày 15/4/2025, UBND xã tổ chức tổng vệ sinh từ 7h30.</p>{keywords}"


@pytest.fixture(scope="module")
def ffmpeg() -> str:
    return ffmpeg_exe(None)


def test_render_bulletin_speaks_the_normalised_text(ffmpeg: str) -> None:
    result = render_bulletin(
        BULLETIN, engine="espeak", voice=None, ffmpeg=ffmpeg, target_lufs=-16.0, bitrate="48k"
    )
    assert result.spoken_text == (
        "Thông báo: Ngày mười lăm tháng tư năm hai nghìn không trăm hai mươi lăm,"
        " ủy ban nhân dân xã tổ chức tổng vệ sinh từ bảy giờ ba mươi phút."
    )
    assert (result.engine, result.voice) == ("espeak", "vi")
    assert result.clip.data[:3] == b"ID3"
    assert result.clip.duration_s > 6.0
    assert measure_loudness(result.clip.data, ffmpeg) == pytest.approx(-16.0, abs=1.0)


def test_render_bulletin_uses_the_requested_voice(ffmpeg: str) -> None:
    result = render_bulletin(
        "Xin chào.", engine="espeak", voice="vi-vn-x-south", ffmpeg=ffmpeg, target_lufs=-18.0, bitrate="32k"
    )
    assert result.voice == "vi-vn-x-south"
    assert result.clip.loudness_lufs == pytest.approx(-18.0, abs=1.0)


@pytest.mark.parametrize(
    ("text", "engine", "voice"),
    [
        ("{keywords} <br> ", "espeak", None),
        ("Xin chào.", "no-such-engine", None),
        ("Xin chào.", "espeak", "klingon"),
    ],
    ids=["nothing-to-read", "unknown-engine", "unknown-voice"],
)
def test_render_bulletin_rejects_bad_requests(text: str, engine: str, voice: str | None, ffmpeg: str) -> None:
    with pytest.raises(TtsError):
        render_bulletin(text, engine=engine, voice=voice, ffmpeg=ffmpeg, target_lufs=-16.0, bitrate="48k")
