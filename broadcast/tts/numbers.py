"""Read numbers the way a northern Vietnamese announcer does (pure functions, no I/O).

Northern usage: "nghìn" (not "ngàn"), "linh" (not "lẻ") for a zero tens digit, "mốt"/"tư"/"lăm" for a
units digit 1/4/5 after "mươi", "mười lăm" but "mười bốn", and "không trăm" whenever a higher group was
already spoken ("một nghìn không trăm linh năm").
"""

from __future__ import annotations

import re

from broadcast.tts.base import TtsError

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
_GROUP_UNITS = ("", "nghìn", "triệu")
_BILLION = 10**9
_ROMAN = re.compile(r"M{0,3}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
_THOUSANDS = re.compile(r"\d{1,3}(?:\.\d{3})+|\d+")
_MAX_SPOKEN_DIGITS = 15
"""Longer digit strings are account or serial numbers: said digit by digit, not as "nghìn tỷ"."""
MAX_NUMBER_DIGITS = 40
"""Longest number a bulletin may hold (a bank account or card has at most ~20 digits, an IBAN 34): a longer
one is a paste gone wrong, and thousands of digits would be read for half an hour (or overflow int())."""
_NUMBER_RUN = re.compile(r"\d+(?:\.\d+)*")  # "." groups are read as one number: 1.000.000


class NumberTooLong(TtsError):
    """The text holds a number longer than any real one; the message says which (Vietnamese)."""


def check_number_lengths(text: str) -> None:
    """Raise NumberTooLong if a number of ``text`` has more than MAX_NUMBER_DIGITS digits."""
    for match in _NUMBER_RUN.finditer(text):
        number = match.group()
        digits = len(number) - number.count(".")
        if digits > MAX_NUMBER_DIGITS:
            raise NumberTooLong(
                f"Nội dung có một số dài {digits} chữ số (bắt đầu bằng «{number[:12]}…»); máy chỉ đọc số "
                f"tối đa {MAX_NUMBER_DIGITS} chữ số. Hãy kiểm tra lại số này hoặc tách nó ra."
            )


def read_number(n: int) -> str:
    """Spell integer ``n``: 2020 -> "hai nghìn không trăm hai mươi"."""
    if n < 0:
        return "âm " + read_number(-n)
    if n == 0:
        return DIGITS[0]
    if n >= _BILLION:
        head = read_number(n // _BILLION) + " tỷ"
        rest = n % _BILLION
        return f"{head} {_read_below_billion(rest, full=True)}" if rest else head
    return _read_below_billion(n, full=False)


def _read_below_billion(n: int, *, full: bool) -> str:
    """Spell 0 < n < 10**9; ``full`` when a higher unit was already spoken ("một tỷ không trăm...")."""
    groups = [(n // 1000**i) % 1000 for i in range(len(_GROUP_UNITS))]
    words: list[str] = []
    for index in reversed(range(len(groups))):
        group = groups[index]
        if group == 0:
            continue
        words.append(_read_group(group, full=full or bool(words)))
        if _GROUP_UNITS[index]:
            words.append(_GROUP_UNITS[index])
    return " ".join(words)


def _read_group(n: int, *, full: bool) -> str:
    """Spell 0 < n < 1000; ``full`` says "không trăm" / "linh" because a higher group precedes it."""
    hundreds, tens, units = n // 100, n // 10 % 10, n % 10
    words: list[str] = []
    if hundreds or full:
        words += [DIGITS[hundreds], "trăm"]
    if tens == 0:
        if units:
            words += (["linh"] if words else []) + [DIGITS[units]]
    elif tens == 1:
        words.append("mười")
        if units:
            words.append("lăm" if units == 5 else DIGITS[units])
    else:
        words += [DIGITS[tens], "mươi"]
        if units:
            words.append({1: "mốt", 4: "tư", 5: "lăm"}.get(units, DIGITS[units]))
    return " ".join(words)


def read_digits(digits: str) -> str:
    """Spell a digit string one digit at a time: "01" -> "không một"."""
    return " ".join(DIGITS[ord(d) - 48] for d in digits if "0" <= d <= "9")


def read_integer(token: str) -> str:
    """Spell an integer token, allowing "." thousands separators: "162.505", "03", "10000"."""
    digits = token.replace(".", "")
    if len(digits) > _MAX_SPOKEN_DIGITS or (digits.startswith("0") and len(digits) > 2):
        return read_digits(digits)  # codes, serials: read digit by digit
    return read_number(int(digits))


def read_code_number(number: str) -> str:
    """Read a document number: a leading zero belongs to its name ("01" -> "không một")."""
    return read_digits(number) if number.startswith("0") and len(number) > 1 else read_number(int(number))


def read_fraction(fraction: str) -> str:
    """Spell the digits after a decimal point: leading zeros one by one, the rest as a number."""
    stripped = fraction.lstrip("0")
    zeros = [DIGITS[0]] * (len(fraction) - len(stripped))
    if not stripped:
        return " ".join(zeros)
    rest = read_number(int(stripped)) if len(stripped) <= 3 else read_digits(stripped)
    return " ".join([*zeros, rest])


def read_decimal(token: str) -> str:
    """Spell a decimal with a "," point: "2,5" -> "hai phẩy năm", "1,05" -> "một phẩy không năm"."""
    whole, _, fraction = token.partition(",")
    return f"{read_integer(whole)} phẩy {read_fraction(fraction)}"


def read_numeral(token: str) -> str:
    """Spell a number token in Vietnamese notation: "3.000", "2,5", "4.0" (a version: "bốn chấm không")."""
    whole, comma, fraction = token.partition(",")
    if _THOUSANDS.fullmatch(whole):
        if not comma:
            return read_integer(whole)
        if fraction.isdigit():
            return f"{read_integer(whole)} phẩy {read_fraction(fraction)}"
    if comma == "" and re.fullmatch(r"\d+\.\d{1,2}", token):
        head, _, tail = token.partition(".")
        return f"{read_integer(head)} chấm {read_digits(tail)}"
    # Anything else (lists "1,2,3", addresses "192.168.1.1", versions "1.2.3"): group by group.
    parts = re.split(r"([.,])", token)
    return " ".join({".": "chấm", ",": ","}.get(part) or read_integer(part) for part in parts if part)


def read_ordinal(n: int) -> str:
    """Spell ``n`` after "thứ": 1 -> "nhất", 4 -> "tư", else the cardinal ("thứ hai", "thứ mười bốn")."""
    return {1: "nhất", 4: "tư"}.get(n, read_number(n))


def read_rank(n: int) -> str:
    """Spell a prize or medal class after "giải"/"hạng": 1 -> "nhất", 2 -> "nhì", 4 -> "tư"."""
    return {1: "nhất", 2: "nhì", 4: "tư"}.get(n, read_number(n))


def read_month(n: int) -> str:
    """Spell month ``n`` after "tháng": 4 -> "tư" (April is "tháng tư", never "tháng bốn")."""
    return "tư" if n == 4 else read_number(n)


def read_day(n: int, *, mung: bool = False) -> str:
    """Spell day-of-month ``n``; with ``mung`` days 1-10 get the northern "mùng" ("mùng một")."""
    return f"mùng {read_number(n)}" if mung and 1 <= n <= 10 else read_number(n)


def read_phone(groups: list[str]) -> str:
    """Spell a phone number digit by digit, pausing between its groups: "không chín một hai, ba bốn năm"."""
    return ", ".join(read_digits(group) for group in groups if group)


def phone_groups(digits: str) -> list[str]:
    """Cut an unspaced phone number into the groups people say: 0912 345 678, 0208 3855 123, 1900 1234."""
    if len(digits) == 9:  # after "+84"
        return [digits[:3], digits[3:6], digits[6:]]
    if len(digits) == 10:
        return [digits[:4], digits[4:7], digits[7:]]
    if len(digits) == 11:
        return [digits[:4], digits[4:8], digits[8:]]
    return [digits[i : i + 4] for i in range(0, len(digits), 4)]


def roman_value(token: str) -> int | None:
    """Return the value of a well-formed Roman numeral, or None: "XX" -> 20, "IIX" -> None."""
    if not token or _ROMAN.fullmatch(token) is None:
        return None
    total = 0
    for index, char in enumerate(token):
        value = _ROMAN_VALUES[char]
        following = _ROMAN_VALUES[token[index + 1]] if index + 1 < len(token) else 0
        total += -value if value < following else value
    return total
