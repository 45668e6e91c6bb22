"""The shared bulletin path: text -> spoken text -> espeak -> MP3 clip."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from broadcast.audio import ffmpeg_exe, measure_loudness
from broadcast.clipstore.rendering import RenderOptions, render_bulletin
from broadcast.tts import EngineConfig, TtsError

BULLETIN = "<p>THÔNG BÁO: Ngày 15/4/2025, UBND xã tổ chức tổng vệ sinh từ 7h30.</p>{keywords}"


@pytest.fixture(scope="module")
def ffmpeg() -> str:
    return ffmpeg_exe(None)


def options(ffmpeg: str, chain: tuple[str, ...] = ("espeak",), voice: str | None = None) -> RenderOptions:
    return RenderOptions(chain=chain, voice=voice, engine_config=EngineConfig(), ffmpeg=ffmpeg)


def test_render_bulletin_speaks_the_normalised_text(ffmpeg: str) -> None:
    result = render_bulletin(BULLETIN, options(ffmpeg))
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
        "Xin chào.", replace(options(ffmpeg, voice="vi-vn-x-south"), target_lufs=-18.0, bitrate="32k")
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
        render_bulletin(text, options(ffmpeg, (engine,), voice))


def test_unavailable_engine_falls_back_and_records_who_spoke(ffmpeg: str, tmp_path: Path) -> None:
    no_voices = replace(options(ffmpeg, ("piper", "espeak")), engine_config=EngineConfig(data_dir=tmp_path))
    result = render_bulletin("Xin chào bà con.", no_voices)  # piper has no voice installed in tmp_path
    assert (result.engine, result.voice) == ("espeak", "vi")


def test_commune_dictionary_changes_the_reading(ffmpeg: str) -> None:
    plain = render_bulletin("Họp HTX lúc 8h.", options(ffmpeg))
    local = render_bulletin(
        "Họp HTX lúc 8h.", replace(options(ffmpeg), extra={"HTX": "hợp tác xã nông nghiệp"})
    )
    assert "hợp tác xã nông nghiệp" in local.spoken_text
    assert local.spoken_text != plain.spoken_text


def test_second_render_is_served_from_the_cache(ffmpeg: str, tmp_path: Path) -> None:
    text = "Thông báo. " * 3 + "Bà con chú ý giữ gìn vệ sinh chung."
    first = render_bulletin(text, replace(options(ffmpeg), cache_dir=tmp_path))
    again = render_bulletin(text, replace(options(ffmpeg), cache_dir=tmp_path))
    assert not first.cached
    assert again.cached
    assert again.clip == first.clip
    assert again.spoken_text == first.spoken_text
