"""Find every number-bearing shape in a line and read it: phones, dates, times, ranges, units, ratios.

One pass reads ranges ("2021 - 2025", "100-200mm", "7h30 - 11h", "15-20/4"), a second reads single
shapes; each shape is tried in order at a position (a phone before a date before a time before a
ratio before a plain number), so later passes never see a digit that belongs to an earlier shape.
"""

from __future__ import annotations

import re

from broadcast.tts.dates import (
    COUNT_NOUNS,
    DAY_WORDS,
    is_dash_date,
    is_date,
    read_date,
    read_month_year,
    read_time,
)
from broadcast.tts.numbers import (
    phone_groups,
    read_code_number,
    read_day,
    read_digits,
    read_integer,
    read_month,
    read_number,
    read_numeral,
    read_ordinal,
    read_phone,
    read_rank,
)
from broadcast.tts.rules import Context, Rule, next_word, previous_word, text_before

UNITS: dict[str, str] = {
    "km/h": "ki lô mét một giờ", "m3/s": "mét khối trên giây", "m³/s": "mét khối trên giây",
    "m/s": "mét trên giây", "°C": "độ xê", "oC": "độ xê", "km²": "ki lô mét vuông", "km2": "ki lô mét vuông",
    "m²": "mét vuông", "m2": "mét vuông", "m³": "mét khối", "m3": "mét khối", "km": "ki lô mét",
    "cm": "xen ti mét", "mm": "mi li mét", "m": "mét", "kg": "ki lô gam", "mg": "mi li gam", "g": "gam",
    "ha": "héc ta", "ml": "mi li lít", "kWh": "ki lô oát giờ", "kW": "ki lô oát", "MW": "mê ga oát",
    "kV": "ki lô vôn", "%": "phần trăm", "đồng": "đồng", "đ": "đồng",
    "VNĐ": "đồng", "VND": "đồng", "USD": "đô la Mỹ",
    "tr.đ": "triệu đồng", "trđ": "triệu đồng", "tr": "triệu", "CV": "mã lực", "cv": "mã lực",
}  # fmt: skip
"""Units written right after a number (case-sensitive: "m" is metres, "M" is not a unit)."""

PER_UNITS: dict[str, str] = {
    "s": "trên giây", "km2": "trên ki lô mét vuông", "km²": "trên ki lô mét vuông", "ha": "một héc ta",
    "kg": "một ki lô gam", "km": "một ki lô mét", "m2": "một mét vuông", "m²": "một mét vuông",
    "m3": "một mét khối", "m³": "một mét khối", "h": "một giờ",
}  # fmt: skip
"""Readings after "/" that are not plain words; any other word after "/" is read "một <word>"."""

_PER_WORDS = "tháng|năm|ngày|tuần|giờ|người|hộ|lượt|lần|con|sào|mẫu|lít|tấn|tạ|cân|chiếc|cái|suất|buổi|khẩu"
_DIGIT_WORDS = (
    r"(?i:\b(?:(?<!lệnh\s)gọi|điện thoại|dây nóng|tổng đài|hotline|tài khoản|fax|zalo|sđt|đt|cccd|cmnd)\b)"
)
_DIGIT_CONTEXT = re.compile(_DIGIT_WORDS + r"\W*(?:số\W*)?$")
"""Right after these, a number of 3+ digits is a phone, account or card number: said digit by digit."""
_NEAR_DIGIT_CONTEXT = re.compile(_DIGIT_WORDS + r"[^.!?;\d]{0,16}(?:\d+\W+){0,4}$")
"""A little further after them ("gọi ngay 112, 113"), only hotlines and long numbers are digit strings."""
_HOTLINE = re.compile(r"11[1-5]|\d{8,}")
_EMERGENCY_CONTEXT = re.compile(
    r"(?i:điện thoại|khẩn cấp|tổng đài|dây nóng|báo cháy|cấp cứu|cứu hỏa)[^.!?;]{0,80}$"
)
"""Further on in a sentence about emergencies, 111-115 are still the numbers to call ("là: 114")."""
_MONEY = r"\s?(?:đồng|đ|VNĐ|VND)(?![^\W\d_])"
_COMMA_THOUSANDS = re.compile(
    rf"(?<![\d.,])\d{{1,3}}(?:,\d{{3}})+(?={_MONEY}|\s?[-–—]\s?\d{{1,3}}(?:,\d{{3}})+{_MONEY})"
)
"""A price written with English thousands commas ("32,500đồng", "10,000 – 20,000đồng"): never a decimal."""
_ZERO_MINUTES = re.compile(r"(?<=\d)(\s?(?:giờ|h|g))\s+00?\s*phút(?!\w)")
"""A full hour written with its minutes ("11 giờ 00 phút", "7h 00 phút"): the announcer stops at "giờ"."""
_EMERGENCY_NUMBERS = frozenset({"111", "112", "113", "114", "115"})
_FRACTION_NOUNS = frozenset({"số", "diện", "dân", "tổng", "lượng", "khối", "quỹ", "ngân", "giá", "thời"})
"""Nouns after a small a/b that make it a fraction of a whole: "2/3 số hộ" -> "hai phần ba số hộ"."""
_DOCUMENT_WORDS = frozenset({"số", "định", "quyết", "thị", "luật", "lệnh", "tư"})
_MONTH_WORDS = frozenset({"tháng", "quý", "quí"})
_CODE_WORDS = frozenset({"số", "quyết", "định", "thị", "hiệu", "mã", "luật"})
"""After these, a leading zero marks a name ("Nghị quyết 01"), said digit by digit."""

_PER_UNIT = "|".join(map(re.escape, sorted(PER_UNITS, key=len, reverse=True)))
_NUM = r"\d+(?:[.,]\d+)*"
_UNIT = "|".join(map(re.escape, sorted(UNITS, key=len, reverse=True)))
_TIME = r"\d{1,3}(?::\d{2}(?::\d{2})?|[hg]\d{2}'?|h)(?![\w:])"
_ATOM = rf"(?:\d{{1,2}}/\d{{1,2}}(?:/\d{{4}})?(?![\d/])|{_TIME}|{_NUM}(?:\s?(?:{_UNIT})(?![\w²³]))?)"
_SINGLE = re.compile(
    r"(?=[\d+])(?<![\d.,])(?:"
    r"(?P<phone>(?:\+84\s?|0)\d{2,3}(?:[ .-]\d{3,4}){2}(?!\d)|(?:0|\+84\s?)\d{9,10}(?!\d)"
    r"|1[89]00(?:[ .]?\d{2,4}){1,2}(?!\d)|0\d{3}\.\d{6,7}(?!\d))"
    r"|(?P<dd>\d{1,2})(?P<sep>[/.-])(?P<dm>\d{1,2})(?P=sep)(?P<dy>\d{4})(?![\d/])"
    r"|(?P<mo>\d{1,2})/(?P<my>\d{4})(?![\d/])"
    r"|(?P<dmo>\d{1,2})\.(?P<dmy>\d{4})(?![\d/]|[.,]\d)"
    r"|(?P<pd>\d{1,2})\.(?P<pm>\d{1,2})(?![\d/]|[.,]\d)"
    r"|(?P<hh>\d{1,3})(?::(?P<mi>\d{2})(?::\d{2})?|[hg](?P<mi2>\d{2})'?|h)(?![\w:])"
    r"|(?P<ra>\d+(?:\.\d{3})*)/(?P<rb>\d+(?:\.\d{3})*)(?![\d/]|[.,]\d)"
    rf"|(?P<num>{_NUM})(?:\s?(?P<unit>{_UNIT})(?![\w²³]))?"
    r")"
)


def read_quantity(token: str, unit: str | None, before: str, ctx: Context) -> str:
    """Read a number and its unit, letting the word before decide ("thứ 4", "tháng 4", "ngày 4")."""
    if unit:
        return f"{read_numeral(token)} {UNITS[unit]}"
    if not token.isdigit():
        return read_numeral(token)
    value = int(token)
    if before == "thứ":
        return read_ordinal(value)
    if before == "giải":
        return read_rank(value)
    if before == "tháng" and 1 <= value <= 12:
        return read_month(value)
    if before in DAY_WORDS and 1 <= value <= 31:
        return read_number(value) if before != "ngày" else read_day(value, mung=ctx.mung)
    if token.startswith("0") and before in _CODE_WORDS:
        return read_digits(token)  # "Nghị quyết 01"
    return read_integer(token)


def _single(match: re.Match[str], ctx: Context) -> str:
    """Read the one shape ``match`` found."""
    if match["phone"]:
        return f" {_read_phone_number(match['phone'])} "
    if match["dd"]:
        day, month = int(match["dd"]), int(match["dm"])
        if 1 <= day <= 31 and 1 <= month <= 12:
            return f" {read_date(day, month, match['dy'], match, ctx)} "
        return " " + " ".join(read_integer(part) for part in re.split(r"[/.-]", match[0])) + " "
    if match["mo"]:
        return f" {read_month_year(match['mo'], match['my'], match)} "
    if match["dmo"]:
        if previous_word(match) in _MONTH_WORDS:
            return f" {read_month_year(match['dmo'], match['dmy'], match)} "  # "tháng 12.2018"
        return f" {read_numeral(match[0])} "
    if match["pd"]:
        day, month = int(match["pd"]), int(match["pm"])
        if is_dash_date(day, month, match, dotted=True):
            return f" {read_date(day, month, None, match, ctx)} "  # "đêm 29.11"
        return f" {read_quantity(match[0], None, previous_word(match), ctx)} "
    if match["hh"]:
        return f" {_read_clock(match)} "
    if match["ra"]:
        return f" {_read_slash(match, ctx)} "
    token = match["num"]
    if len(token) >= 3 and token.isdigit():
        before = text_before(match, 40)
        near = _HOTLINE.fullmatch(token) and _NEAR_DIGIT_CONTEXT.search(before)
        emergency = token in _EMERGENCY_NUMBERS and next_word(match) not in COUNT_NOUNS
        if (
            near
            or _DIGIT_CONTEXT.search(before)
            or (emergency and _EMERGENCY_CONTEXT.search(text_before(match, 100)))
        ):
            return f" {read_digits(token)} "  # "gọi 114", "số tài khoản 123456789"
    return f" {read_quantity(token, match['unit'], previous_word(match), ctx)} "


def _read_phone_number(phone: str) -> str:
    """Read a phone number in its groups; the country code "+84" is "cộng tám tư"."""
    prefix = ""
    if phone.startswith("+84"):
        prefix, phone = "cộng tám tư, ", phone[3:].strip()
    groups = [group for group in re.split(r"[ .-]", phone) if group]
    if len(groups) > 1:  # "0383.598828": a long local part is said in two groups
        groups = [
            part for group in groups for part in ([group[:3], group[3:]] if len(group) > 5 else [group])
        ]
    return prefix + read_phone(groups if len(groups) > 1 else phone_groups(groups[0]))


def _read_clock(match: re.Match[str]) -> str:
    """Read 7h30, 07:00, 72h; a colon pair that is no time ("3:2") is read number by number."""
    hour, minute = int(match["hh"]), int(match["mi"] or match["mi2"] or 0)
    spoken = read_time(hour, minute)
    if spoken is None or (match["mi"] and hour > 24):
        return " ".join(read_integer(part) for part in re.findall(r"\d+", match[0]))
    return spoken


def _read_slash(match: re.Match[str], ctx: Context) -> str:
    """Read a/b as a date when it can be one there, else as "a trên b" ("thứ 12/63")."""
    first, second = match["ra"], match["rb"]
    if len(first) <= 2 and len(second) <= 2 and is_date(int(first), int(second), match):
        return read_date(int(first), int(second), None, match, ctx)
    before = previous_word(match)
    if before in _DOCUMENT_WORDS and len(second) == 4 and 1900 <= int(second) <= 2100:
        return f"{read_code_number(first)} năm {read_number(int(second))}"  # "Nghị định số 200/2025"
    head = read_ordinal(int(first)) if before == "thứ" and first.isdigit() else read_integer(first)
    whole = int(second.replace(".", ""))
    if before != "thứ" and int(first.replace(".", "")) < whole <= 10 and next_word(match) in _FRACTION_NOUNS:
        return f"{head} phần {read_integer(second)}"
    return f"{head} trên {read_integer(second)}"


def _range(match: re.Match[str], ctx: Context) -> str:
    """Read "a - b" as "a đến b"; a pair that does not rise ("tỷ số 2-1") is read as two numbers."""
    first, second = match["a"], match["b"]
    before = previous_word(match)
    if first.isdigit() and second.isdigit():
        low, high = int(first), int(second)
        if is_dash_date(low, high, match):
            return f" {read_date(low, high, None, match, ctx)} "  # "ngày 31-12", "đêm 29-12"
        if before == "tháng" and 1 <= low < high <= 12:
            return f" {read_month(low)} đến tháng {read_month(high)} "
        if low >= high:
            return f" {read_quantity(first, None, before, ctx)} {read_integer(second)} "
    dotted = re.fullmatch(r"(\d{1,2})\.(\d{1,2})", second)
    if (
        dotted
        and first.isdigit()
        and before in DAY_WORDS
        and is_dash_date(int(dotted[1]), int(dotted[2]), match)
    ):
        head = read_day(int(first), mung=ctx.mung)  # "ngày 3 - 31.12"
        tail = f"ngày {read_day(int(dotted[1]), mung=ctx.mung)} tháng {read_month(int(dotted[2]))}"
        return f" {head} đến {tail} "
    day_range = re.fullmatch(r"\d{1,2}", first) and re.fullmatch(r"\d{1,2}/\d{1,2}(?:/\d{4})?", second)
    if day_range and 1 <= int(first) <= 31:
        head = read_day(int(first), mung=ctx.mung)
        head = head if before in DAY_WORDS else "ngày " + head
        tail = _read_atom(second, "ngày", ctx)
        return f" {head} đến {tail} "
    head = _read_atom(first, before, ctx)
    if before in DAY_WORDS and head.startswith("ngày "):
        head = head.removeprefix("ngày ")  # "từ ngày 26/11-28/11/2019": "ngày" is said once
    return f" {head} đến {_read_atom(second, before, ctx)} "


def _read_atom(text: str, before: str, ctx: Context) -> str:
    """Read one side of a range with the word before the whole range as its context."""
    found = _SINGLE.fullmatch(text)
    if found is None:  # pragma: no cover - the range pattern only admits single shapes
        return text
    if found["num"]:
        return read_quantity(found["num"], found["unit"], before, ctx)
    return _single(found, ctx).strip()


def _sequence(match: re.Match[str], ctx: Context) -> str:
    """Read "2-3-5" (a named method) number by number."""
    return " " + " ".join(read_integer(part) for part in match[0].split("-")) + " "


def _per_unit(match: re.Match[str], ctx: Context) -> str:
    """Read "/ha" in "62 tạ/ha" as "một héc ta"; without a number before, "/" stays a separator."""
    if not re.search(r"\d", text_before(match, 24)):
        return match[0]
    return " " + PER_UNITS.get(match[1], "một " + match[1]) + " "


def _minus(match: re.Match[str], ctx: Context) -> str:
    """Read a minus sign before a number ("-2°C") as "âm"."""
    return f"{match[1]}âm "


QUANTITY_RULES: tuple[Rule, ...] = (
    (_ZERO_MINUTES, lambda match, ctx: match[1]),  # "11 giờ 00 phút" -> "11 giờ": nobody says "không phút"
    (_COMMA_THOUSANDS, lambda match, ctx: match[0].replace(",", ".")),
    (re.compile(rf"(?=[\s/])\s?/\s?({_PER_UNIT}|{_PER_WORDS})(?![\w²³])"), _per_unit),
    (
        re.compile(rf"(?=\d)(?<![\w.,/:-])(?P<a>{_ATOM})\s*[-–—]\s*(?P<b>{_ATOM})(?![\w/]|[.,:-]\d)"),
        _range,
    ),
    (re.compile(r"(?=\d)(?<![\w.,/-])(?!\d{1,2}-\d{1,2}-\d{4}(?!\d))\d+(?:-\d+){2,}(?![\w/])"), _sequence),
    (re.compile(r"(^|[\s(])-(?=\d)"), _minus),
    (_SINGLE, _single),
    (
        re.compile(rf"\b(tỷ|triệu|nghìn|ngàn)\s?({_UNIT})(?![\w²³])"),
        lambda match, ctx: f"{match[1]} {UNITS[match[2]]}",  # "3 triệu đ", "1,2 triệu m³"
    ),
    (re.compile(r"%"), lambda match, ctx: " phần trăm "),
    (re.compile(r"\d+"), lambda match, ctx: f" {read_integer(match[0])} "),  # anything left
    (re.compile(r"[²³¹]"), lambda match, ctx: ""),
)
"""Applied in order to lines with digits; each turns digits into words so later rules never see them."""
