"""Number spelling: a hand-written table, Roman numerals, and a randomized round trip over 0..10^12."""

from __future__ import annotations

import random

import pytest

from broadcast.tts.numbers import (
    read_day,
    read_decimal,
    read_month,
    read_number,
    read_numeral,
    read_ordinal,
    roman_value,
)

NUMBERS = [
    (0, "không"),
    (4, "bốn"),
    (5, "năm"),
    (10, "mười"),
    (11, "mười một"),
    (14, "mười bốn"),
    (15, "mười lăm"),
    (20, "hai mươi"),
    (21, "hai mươi mốt"),
    (24, "hai mươi tư"),
    (25, "hai mươi lăm"),
    (101, "một trăm linh một"),
    (105, "một trăm linh năm"),
    (110, "một trăm mười"),
    (115, "một trăm mười lăm"),
    (191, "một trăm chín mươi mốt"),
    (1005, "một nghìn không trăm linh năm"),
    (1015, "một nghìn không trăm mười lăm"),
    (2020, "hai nghìn không trăm hai mươi"),
    (2021, "hai nghìn không trăm hai mươi mốt"),
    (3000, "ba nghìn"),
    (10000, "mười nghìn"),
    (162505, "một trăm sáu mươi hai nghìn năm trăm linh năm"),
    (1234567, "một triệu hai trăm ba mươi tư nghìn năm trăm sáu mươi bảy"),
    (1000005, "một triệu không trăm linh năm"),
    (1005000, "một triệu không trăm linh năm nghìn"),
    (1000000000, "một tỷ"),
    (2000000021, "hai tỷ không trăm hai mươi mốt"),
    (1000000000000, "một nghìn tỷ"),
    (-3, "âm ba"),
]


@pytest.mark.parametrize(("number", "spoken"), NUMBERS)
def test_read_number(number: int, spoken: str) -> None:
    assert read_number(number) == spoken


@pytest.mark.parametrize(
    ("token", "spoken"),
    [
        ("3.000", "ba nghìn"),
        ("1.234.567", "một triệu hai trăm ba mươi tư nghìn năm trăm sáu mươi bảy"),
        ("2,5", "hai phẩy năm"),
        ("0,05", "không phẩy không năm"),
        ("12,25", "mười hai phẩy hai mươi lăm"),
        ("1.234,5", "một nghìn hai trăm ba mươi tư phẩy năm"),
        ("4.0", "bốn chấm không"),
        ("192.168.1.1", "một trăm chín mươi hai chấm một trăm sáu mươi tám chấm một chấm một"),
        ("007", "không không bảy"),
        ("03", "ba"),
    ],
)
def test_read_numeral(token: str, spoken: str) -> None:
    assert read_numeral(token) == spoken


def test_small_readers() -> None:
    assert read_decimal("3,14") == "ba phẩy mười bốn"
    assert [read_ordinal(n) for n in (1, 2, 4, 14)] == ["nhất", "hai", "tư", "mười bốn"]
    assert [read_month(n) for n in (1, 4, 11)] == ["một", "tư", "mười một"]
    assert [read_day(n, mung=True) for n in (1, 10, 11)] == ["mùng một", "mùng mười", "mười một"]
    assert read_day(4) == "bốn"


@pytest.mark.parametrize(
    ("numeral", "value"),
    [
        ("I", 1),
        ("IV", 4),
        ("IX", 9),
        ("XIV", 14),
        ("XX", 20),
        ("XXI", 21),
        ("XIII", 13),
        ("IIX", None),
        ("", None),
    ],
)
def test_roman_value(numeral: str, value: int | None) -> None:
    assert roman_value(numeral) == value


_DIGIT_WORDS = {
    w: i for i, w in enumerate(("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"))
}
_UNIT_FORMS = {"mốt": 1, "tư": 4, "lăm": 5}
_SCALES = {"nghìn": 10**3, "triệu": 10**6}


def _parse(spoken: str) -> int:
    """Turn a reading back into its number, rejecting any word order an announcer would not use."""
    words = spoken.split()
    total = below_billion = group = 0
    for index, word in enumerate(words):
        following = words[index + 1] if index + 1 < len(words) else ""
        if word in _DIGIT_WORDS and following == "trăm":
            group += _DIGIT_WORDS[word] * 100
        elif word in _DIGIT_WORDS and following == "mươi":
            assert _DIGIT_WORDS[word] >= 2, spoken
            group += _DIGIT_WORDS[word] * 10
        elif word in _DIGIT_WORDS or word in _UNIT_FORMS:
            group += _DIGIT_WORDS.get(word, _UNIT_FORMS.get(word, 0))
        elif word == "mười":
            group += 10
        elif word in _SCALES:
            below_billion += group * _SCALES[word]
            group = 0
        elif word == "tỷ":
            total = (total + below_billion + group) * 10**9
            below_billion = group = 0
        else:
            assert word in {"trăm", "mươi", "linh"}, (word, spoken)
    return total + below_billion + group


def test_random_numbers_round_trip_with_northern_forms() -> None:
    rng = random.Random(20240601)
    samples = [rng.randrange(0, 10**12 + 1) for _ in range(3000)]
    samples += [rng.randrange(0, 10 ** rng.randrange(1, 13)) for _ in range(3000)]
    for n in samples:
        spoken = read_number(n)
        assert _parse(spoken) == n, (n, spoken)
        padded = f" {spoken} "
        # "mốt", "tư", "lăm" after "mươi"; "lăm" after "mười"; never "mười một" spelled "mười mốt".
        for wrong in (
            " mươi một ",
            " mươi năm ",
            " mươi bốn ",
            " mười năm ",
            " mười mốt ",
            " mười tư ",
            " lẻ ",
        ):
            assert wrong not in padded, (n, spoken)
        # "linh" only straight after "trăm"; "không trăm" only after a higher unit.
        for index, word in enumerate(spoken.split()):
            if word == "linh":
                assert spoken.split()[index - 1] == "trăm", (n, spoken)
        if spoken.startswith("không trăm"):
            pytest.fail(f"{n}: {spoken}")
