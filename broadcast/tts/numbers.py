"""Read numbers the way a northern Vietnamese announcer does (pure functions, no I/O)."""

from __future__ import annotations

import re
from collections.abc import Callable

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
_GROUP_UNITS = ("", "nghìn", "triệu")
_BILLION = 10**9
_ROMAN = re.compile(r"M{0,3}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}


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
    return " ".join(DIGITS[int(d)] for d in digits if d.isdigit())


def read_integer(token: str) -> str:
    """Spell an integer token, allowing "." thousands separators: "162.505", "03", "10000"."""
    digits = token.replace(".", "")
    if len(digits) > 15 or (digits.startswith("0") and len(digits) > 2):
        return read_digits(digits)  # phone numbers, codes: read digit by digit
    return read_number(int(digits))


def read_decimal(token: str) -> str:
    """Spell a decimal with a "," point: "2,5" -> "hai phẩy năm", "1,05" -> "một phẩy không năm"."""
    whole, _, fraction = token.partition(",")
    return f"{read_integer(whole)} phẩy {read_fraction(fraction)}"


def read_fraction(fraction: str) -> str:
    """Spell the digits after a decimal point: leading zeros one by one, the rest as a number."""
    stripped = fraction.lstrip("0")
    zeros = [DIGITS[0]] * (len(fraction) - len(stripped))
    if not stripped:
        return " ".join(zeros)
    rest = read_number(int(stripped)) if len(stripped) <= 3 else read_digits(stripped)
    return " ".join([*zeros, rest])


def read_ordinal(n: int) -> str:
    """Spell ``n`` after "thứ": 1 -> "nhất", 4 -> "tư", else the cardinal."""
    return {1: "nhất", 4: "tư"}.get(n, read_number(n))


def read_month(n: int) -> str:
    """Spell month ``n`` after "tháng": 4 -> "tư"."""
    return "tư" if n == 4 else read_number(n)


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


# --- Rules: where numbers hide in running text and how each shape is read --------------------------------

Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]

_NUM = r"\d+(?:[.,]\d+)*"
_INTEGER = r"\d{1,3}(?:\.\d{3})+|\d+"
_CODE_WORDS = frozenset({"số", "quyết", "định", "thị", "hiệu", "mã"})
_NOT_DATE_WORDS = frozenset({"thứ", "hạng", "lệ", "tỷ", "tỉ"})
_UNITS = {
    "km/h": "ki lô mét một giờ", "°C": "độ xê", "km²": "ki lô mét vuông", "km2": "ki lô mét vuông",
    "km": "ki lô mét", "mm": "mi li mét", "cm": "xen ti mét", "m²": "mét vuông", "m2": "mét vuông",
    "m³": "mét khối", "m3": "mét khối", "kg": "ki lô gam", "ha": "héc ta", "đ": "đồng", "VNĐ": "đồng",
    "USD": "đô la Mỹ",
}  # fmt: skip
_PER_UNITS = "tháng|năm|ngày|tuần|giờ|người|hộ|lượt|lần|ha|kg|km|lít|con|tấn"


def _previous_word(match: re.Match[str]) -> str:
    """Return the lower-cased word just before ``match``."""
    words = re.findall(r"[^\W\d_]+", match.string[max(0, match.start() - 20) : match.start()])
    return words[-1].lower() if words else ""


def _after_ngay(match: re.Match[str]) -> bool:
    """Tell whether ``match`` already follows "ngày", possibly after a list of days ("ngày 8, 9/10")."""
    before = match.string[max(0, match.start() - 40) : match.start()]
    return re.search(r"(?i:ngày)(?:\s*\d{1,2}\s*,)*\s*$", before) is not None


def read_numeral(token: str) -> str:
    """Spell a number token in Vietnamese notation: "3.000", "2,5", "4.0" (a version: "bốn chấm không")."""
    if re.fullmatch(_INTEGER, token):
        return read_integer(token)
    if re.fullmatch(rf"(?:{_INTEGER}),\d+", token):
        return read_decimal(token)
    if re.fullmatch(r"\d+\.\d{1,2}", token):
        whole, _, fraction = token.partition(".")
        return f"{read_integer(whole)} chấm {read_fraction(fraction)}"
    # Anything else (lists "1,2,3", addresses "192.168.1.1"): each group on its own.
    parts = re.split(r"([.,])", token)
    return " ".join({".": "chấm", ",": ","}.get(part) or read_integer(part) for part in parts if part)


def _date(match: re.Match[str]) -> str:
    """Read d/m[/yyyy] as a date ("ngày 31 tháng 12"), or as a ratio when no date fits."""
    day, month, year = int(match["d"]), int(match["m"]), match["y"]
    if not (1 <= day <= 31 and 1 <= month <= 12) or _previous_word(match) in _NOT_DATE_WORDS:
        return match.group(0) if year else _ratio(match)
    prefix = "" if _after_ngay(match) else "ngày "
    spoken = f"{prefix}{read_number(day)} tháng {read_month(month)}"
    return f" {spoken} năm {read_number(int(year))} " if year else f" {spoken} "


def _month_year(match: re.Match[str]) -> str:
    """Read m/yyyy as "tháng M năm Y" ("quý 2/2022" -> "quý hai năm ...")."""
    month, year = int(match["m"]), int(match["y"])
    if not 1 <= month <= 12:
        return match.group(0)
    previous = _previous_word(match)
    spoken = read_number(month) if previous in {"quý", "quí", "kỳ"} else read_month(month)
    prefix = "" if previous in {"tháng", "quý", "quí", "kỳ"} else "tháng "
    return f" {prefix}{spoken} năm {read_number(year)} "


def _time(match: re.Match[str]) -> str:
    """Read 7h30 / 07:00 as "bảy giờ ba mươi phút" / "bảy giờ"."""
    hour, minute = int(match["h"]), int(match["min"] or 0)
    if hour > 24 or minute > 59:
        return match.group(0)
    spoken = f"{read_number(hour)} giờ"
    return f" {spoken} {read_number(minute)} phút " if minute else f" {spoken} "


def _ratio(match: re.Match[str]) -> str:
    """Read a/b as "a trên b"."""
    return f" {read_integer(match['d'])} trên {read_integer(match['m'])} "


def _hotline(match: re.Match[str]) -> str:
    """Read 113/114/115 digit by digit after "gọi", "tổng đài", "đường dây nóng", "điện thoại"."""
    if _previous_word(match) in {"gọi", "đài", "nóng", "thoại"}:
        return f" {read_digits(match[0])} "
    return match[0]


def _number(match: re.Match[str]) -> str:
    """Read a bare number; after "số" and the like, a leading zero marks a code read digit by digit."""
    token = match.group(0)
    if token.startswith("0") and token.isdigit() and _previous_word(match) in _CODE_WORDS:
        return f" {read_digits(token)} "  # "Nghị quyết số 01" -> "không một"
    return f" {read_numeral(token)} "


NUMBER_RULES: tuple[Rule, ...] = tuple(
    (re.compile(pattern), handler)
    for pattern, handler in (
        # 0912 345 678, 0912.345.678: phone numbers, digit by digit in their groups
        (
            r"(?<![\d.,])0\d{2,3}(?:[ .]\d{3,4}){2}(?![\d])",
            lambda m: " " + ", ".join(read_digits(group) for group in re.split(r"[ .]", m[0])) + " ",
        ),
        # gọi 114: emergency numbers are said digit by digit
        (r"(?<![\d.,])11[1-5](?![\d]|[.,]\d)", _hotline),
        # 31/12/2020, 26-03-2021
        (r"(?<![\d/.,-])(?P<d>\d{1,2})([/-])(?P<m>\d{1,2})\2(?P<y>\d{4})(?![\d/])", _date),
        # tháng 10/2020, quý 2/2022
        (r"(?<![\d/.,])(?P<m>\d{1,2})/(?P<y>\d{4})(?![\d/])", _month_year),
        # 1/10, 31/12 (a day), 12/63 (a ratio, when no day/month fits)
        (r"(?<![\d/.,])(?P<d>\d{1,2})/(?P<m>\d{1,2})(?P<y>)(?![\d/]|[.,]\d)", _date),
        # ngày 31-12
        (r"(?<=(?i:ngày) )(?P<d>\d{1,2})-(?P<m>\d{1,2})(?P<y>)(?![\d/-])", _date),
        # 7h30, 14h, 07:00
        (r"(?<![\w:.,])(?P<h>\d{1,2})(?:h|:)(?P<min>\d{2})(?![\w:])", _time),
        (r"(?<![\w:.,])(?P<h>\d{1,2})h(?P<min>)(?![\w])", _time),
        # phương pháp luận 2-3-5
        (
            r"(?<![\d.,/-])\d+(?:-\d+){2,}(?![\d/])",
            lambda m: " " + " ".join(map(read_integer, m[0].split("-"))) + " ",
        ),
        # 2021 - 2025, 2020 – 2025
        (
            rf"(?<![\d.,/-])(?P<a>{_NUM})\s*[-–—]\s*(?P<b>{_NUM})(?![\d/])",
            lambda m: f" {read_numeral(m['a'])} đến {read_numeral(m['b'])} ",
        ),
        # 35°C, 100 km, 500.000đ
        (r"(?<=\d)\s?(" + "|".join(map(re.escape, _UNITS)) + r")(?![\w²³])", lambda m: f" {_UNITS[m[1]]} "),
        # 1 lần/tháng
        (rf"/\s?({_PER_UNITS})\b", lambda m: f" mỗi {_UNITS.get(m[1], m[1])} "),
        # 12/63 and any other ratio left
        (r"(?<![\d/.,])(?P<d>\d+)/(?P<m>\d+)(?![\d/])", _ratio),
        # 80%, 2,5%
        (rf"(?<![\d.,])({_NUM})\s?%", lambda m: f" {read_numeral(m[1])} phần trăm "),
        (r"%", lambda m: " phần trăm "),
        # thứ 4 (Wednesday / fourth), tháng 4
        (
            r"(?<![\w])(?P<w>(?i:thứ))\s+(?P<n>\d+)(?!\d|[.,]\d)",
            lambda m: f"{m['w']} {read_ordinal(int(m['n']))} ",
        ),
        (
            r"(?<![\w])(?P<w>(?i:tháng))\s+(?P<n>\d{1,2})(?!\d|[.,]\d)",
            lambda m: f"{m['w']} {read_month(int(m['n']))} ",
        ),
        # decimals and thousands: 2,5 · 162.505 · 4.0
        (rf"(?<![\d.,]){_NUM}(?![\d])", _number),
    )
)
"""Applied in order; each turns digits into words so later rules never see them again."""


def expand_numbers(text: str) -> str:
    """Replace every number-bearing shape in ``text`` (dates, times, ranges, ...) with its reading."""
    for pattern, handler in NUMBER_RULES:
        text = pattern.sub(handler, text)
    return text
