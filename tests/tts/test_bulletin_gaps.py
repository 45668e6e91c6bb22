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


STORMS = [
    ("Siêu bão YAGI đổ bộ.", "Siêu bão da gi đổ bộ."),
    ("Bão số 5 (NESAT) mạnh lên.", "Bão số năm (nê xát) mạnh lên."),
    ("YAGI (bão số 3) mạnh lên.", "Da gi (bão số ba) mạnh lên."),
    ("Tâm bão WIPHA ở phía Đông.", "Tâm bão uýp pha ở phía Đông."),
    ("Cơn bão SON-TINH đi vào vịnh.", "Cơn bão sơn tinh đi vào vịnh."),
    ("Áp thấp nhiệt đới MUN suy yếu.", "Áp thấp nhiệt đới mun suy yếu."),
    ("BÃO SỐ 3 (YAGI) ĐỔ BỘ", "Bão số ba (da gi) đổ bộ."),
    # A capitalised word the text does not call a storm is not hijacked, nor a name written "Bualoi".
    ("Chị LAN và MARIA ở xã.", "Chị lờ a en và em a rờ i a ở xã."),
    ("Hoàn lưu bão Bualoi gây mưa.", "Hoàn lưu bão Bualoi gây mưa."),
    ("Bão XYZ vào.", "Bão ích i dài dét vào."),
]


@pytest.mark.parametrize(("text", "spoken"), STORMS)
def test_storm_names(text: str, spoken: str) -> None:
    assert normalize_text(text) == spoken


def test_a_storm_name_is_not_flagged_but_an_unknown_one_is() -> None:
    assert unknown_abbreviations("Bão YAGI và bão SON-TINH.") == []
    assert unknown_abbreviations("Bão XYZ vào.") == ["XYZ"]


def test_every_storm_reading_is_lower_case_words() -> None:
    from broadcast.tts.storm_names import STORM_NAMES

    assert len(STORM_NAMES) >= 140
    for name, reading in STORM_NAMES.items():
        assert reading == reading.lower() and reading.replace(" ", "").isalpha(), name


DATES = [
    (
        "Ôn lại ý nghĩa ngày Phụ nữ Việt Nam 20-10 và truyền thống.",
        "Ôn lại ý nghĩa ngày Phụ nữ Việt Nam hai mươi tháng mười và truyền thống.",
    ),
    ("Kỷ niệm Ngày Quốc tế Thiếu nhi 1-6.", "Kỷ niệm Ngày Quốc tế Thiếu nhi một tháng sáu."),
    ("Chào mừng ngày Phụ nữ Việt Nam 20/10.", "Chào mừng ngày Phụ nữ Việt Nam hai mươi tháng mười."),
    (
        "Không cắt điện trong các ngày 2, 3 và 4-6 và 24, 25 và 26-6.",
        "Không cắt điện trong các ngày hai, ba và bốn tháng sáu và hai mươi tư, hai mươi lăm và hai mươi "
        "sáu tháng sáu.",
    ),
    ("Họp vào các ngày 5, 6 và 7/9.", "Họp vào các ngày năm, sáu và bảy tháng chín."),
    # Ranges and scores stay what they are: no day word, a count after, or days that do not rise.
    ("Đội thắng các trận 2, 3 và 4-1.", "Đội thắng các trận hai, ba và bốn một."),
    ("Gió mạnh cấp 8, 9 và 10-11.", "Gió mạnh cấp tám, chín và mười đến mười một."),
    ("Kết quả 24, 25 và 26-6 điểm.", "Kết quả hai mươi tư, hai mươi lăm và hai mươi sáu sáu điểm."),
    ("Trong ngày Chủ nhật có 5-7 người.", "Trong ngày Chủ nhật có năm đến bảy người."),
    ("Ngày Hội thi 3-5 tuổi.", "Ngày Hội thi ba đến năm tuổi."),
    (
        "Ngày đăng : 22:29, 31/03/2023",
        "Ngày đăng: hai mươi hai giờ hai mươi chín phút, ngày ba mươi mốt tháng ba năm hai nghìn không trăm "
        "hai mươi ba.",
    ),
]


@pytest.mark.parametrize(("text", "spoken"), DATES)
def test_dates_after_a_named_day_or_ending_a_list_of_days(text: str, spoken: str) -> None:
    assert normalize_text(text) == spoken


CODES = [
    # The drafting unit after the issuer is said once, as words when known.
    (
        "Văn bản số 428/VP-KH gửi các xã.",
        "Văn bản số bốn trăm hai mươi tám của văn phòng, kế hoạch gửi các xã.",
    ),
    # An issuer code the sentence names in full is heard there, once.
    (
        "Hướng dẫn số 13-HD/BTGDVTU của Ban Tuyên giáo và Dân vận Thành ủy.",
        "Hướng dẫn số mười ba của Ban Tuyên giáo và Dân vận Thành ủy.",
    ),
    # An unknown issuer is spelled, never dropped.
    ("Thông báo số 142/TB-VG.", "Thông báo số một trăm bốn mươi hai của vê giê."),
    (
        "Hướng dẫn số 13-HD/BTGDVTU ngày 6/8.",
        "Hướng dẫn số mười ba của bê tê giê dê vê tê u ngày sáu tháng tám.",
    ),
    # "NT6" is a numbered farm only where the line speaks of one.
    ("Vật cổ truyền tại lô cao su số 5 NT6.", "Vật cổ truyền tại lô cao su số năm nông trường sáu."),
    ("Giao lưu tại Nông trường NT6.", "Giao lưu tại Nông trường nông trường sáu."),
    ("Xe NT6 đỗ ở đây.", "Xe en tê sáu đỗ ở đây."),
]


@pytest.mark.parametrize(("text", "spoken"), CODES)
def test_codes_of_issuers_and_units(text: str, spoken: str) -> None:
    assert normalize_text(text) == spoken


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("Văn bản số 428/VP-KH gửi các xã.", []),
        ("Hướng dẫn số 13-HD/BTGDVTU của Ban Tuyên giáo và Dân vận Thành ủy.", []),
        ("Thông báo số 142/TB-VG.", ["VG"]),
        ("Hướng dẫn số 13-HD/BTGDVTU ngày 6/8.", ["BTGDVTU"]),
        ("Vật cổ truyền tại lô cao su số 5 NT6.", []),
        ("Xe NT6 đỗ ở đây.", ["NT6"]),
    ],
)
def test_unknown_codes_are_flagged_to_the_editor(text: str, flagged: list[str]) -> None:
    assert unknown_abbreviations(text) == flagged
