"""The last gaps of the real-bulletin golden set, each with the cases that must stay as they are."""

from __future__ import annotations

import pytest

from broadcast.tts import normalize_text, unknown_abbreviations

FULL_HOURS = [
    ("Từ 7 giờ 30 phút đến 11 giờ 00 phút.", "Từ bảy giờ ba mươi phút đến mười một giờ."),
    ("Tập trung lúc 8h 00 phút.", "Tập trung lúc tám giờ."),
    ("Tập trung lúc 8 giờ 05 phút.", "Tập trung lúc tám giờ năm phút."),
    ("Khai mạc lúc 14 giờ 30 phút.", "Khai mạc lúc mười bốn giờ ba mươi phút."),
]

ENGINE_POWER = [
    ("Tàu có công suất nhỏ hơn 90 CV về bến.", "Tàu có công suất nhỏ hơn chín mươi mã lực về bến."),
    ("Tàu cá từ 90cv trở lên.", "Tàu cá từ chín mươi mã lực trở lên."),
    ("Máy bơm 12CV.", "Máy bơm mười hai mã lực."),
    # Not after a number, "CV" is no power: spelled and flagged; in a code it is a "công văn".
    ("Nộp CV cho xã.", "Nộp xê vê cho xã."),
    ("Công văn 12/CV-UBND.", "Công văn mười hai của ủy ban nhân dân."),
]


@pytest.mark.parametrize(("text", "spoken"), FULL_HOURS + ENGINE_POWER)
def test_reading(text: str, spoken: str) -> None:
    assert normalize_text(text) == spoken


def test_power_after_a_number_is_not_flagged_but_a_lone_cv_is() -> None:
    assert unknown_abbreviations("Tàu 90 CV và máy 12CV.") == []
    assert unknown_abbreviations("Nộp CV cho xã.") == ["CV"]
