"""Numbers longer than any real one are refused with a clear message, never an int() ValueError."""

from __future__ import annotations

import pytest

from broadcast.tts import TtsError, normalize_text, unknown_abbreviations
from broadcast.tts.numbers import MAX_NUMBER_DIGITS, NumberTooLong, check_number_lengths

HUGE = "9" * 4400  # past CPython's 4,300-digit int() limit: a ValueError (a 500) before the guard

# Each form reached int() in a different rule (quantities, slash, range, thousands groups, decimals).
CRASHED = [
    HUGE,
    f"giá {HUGE} đồng",
    f"{HUGE}%",
    f"ngày 1/{HUGE}",
    f"12-{HUGE}",
    "1/2." + "222." * 1500 + "2",
    f"1,{HUGE}",
    f"thứ {HUGE}",
]


@pytest.mark.parametrize("text", CRASHED)
def test_thousands_of_digits_are_refused_by_every_rule(text: str) -> None:
    for read in (normalize_text, unknown_abbreviations):
        with pytest.raises(NumberTooLong, match="chữ số") as refused:
            read(text)
        assert isinstance(refused.value, TtsError)  # the API and web forms answer it with 422


def test_the_limit_keeps_every_real_number() -> None:
    account = "1" * MAX_NUMBER_DIGITS  # longer than a bank account, a card, an IBAN
    check_number_lengths(f"Số tài khoản {account}, 1.000.000.000 đồng, 0912345678")
    assert "một một một" in normalize_text(f"Số tài khoản {account}")  # read digit by digit
    with pytest.raises(NumberTooLong, match=f"{MAX_NUMBER_DIGITS + 1} chữ số"):
        check_number_lengths("1" * (MAX_NUMBER_DIGITS + 1))
    with pytest.raises(NumberTooLong):
        check_number_lengths("1." + "000." * 13 + "000")  # 43 digits in thousands groups
