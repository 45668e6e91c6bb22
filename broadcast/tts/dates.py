"""Read dates, months, quarters and clock times as an announcer does (pure functions).

"31/12/2020" -> "ngày ba mươi mốt tháng mười hai năm hai nghìn không trăm hai mươi"; "ngày" is added
unless the text already says it; April is "tháng tư"; with ``mung`` days 1-10 are "mùng một"...
A d/m pair that cannot be a date, or sits where a count belongs ("xếp thứ 12/63", "đạt 9/12 xã"), is a
ratio and is read with "trên".
"""

from __future__ import annotations

import re
from itertools import pairwise

from broadcast.tts.numbers import read_code_number, read_day, read_month, read_number
from broadcast.tts.rules import UPPER, Context, next_word, previous_word, text_before, words

DAY_WORDS = frozenset({"ngày", "mùng", "mồng"})
DATE_WORDS = DAY_WORDS | {
    "sáng", "chiều", "tối", "trưa", "đêm", "hôm", "rạng", "từ", "đến", "tới", "trước", "sau",
}  # fmt: skip
"""Words before d/m that make it a date."""
RATIO_WORDS = frozenset({"thứ", "hạng", "tỷ", "tỉ", "lệ", "đạt", "được", "chiếm", "gồm", "có", "trong"})
"""Words before d/m that make it a count out of a total ("thứ 12/63", "đạt 9/12")."""
COUNT_NOUNS = frozenset(
    {
        "xã", "phường", "thị", "huyện", "tỉnh", "thôn", "bản", "tổ", "hộ", "người", "học", "trường", "đơn",
        "địa", "tiêu", "chỉ", "cơ", "doanh", "dự", "mục", "nhiệm", "câu", "phiếu", "điểm", "lớp", "thành",
        "quận", "khu", "cụm", "hợp", "làng", "đội", "bộ", "số", "diện", "dân", "tổng", "sản", "công", "ca",
        "trận", "vòng", "phần", "thí", "cán", "đại", "hồ", "lượt", "ngành", "sở",
    }
)  # fmt: skip
"""Words after d/m that show it counts something ("9/12 xã đạt chuẩn")."""
_DASH_DATE_WORDS = DAY_WORDS | {"sáng", "chiều", "tối", "trưa", "đêm", "hôm", "rạng"}
_NOT_AFTER_DATE = COUNT_NOUNS | {"giờ", "h", "tiếng", "phút", "ngày", "đêm", "lần", "độ", "tuổi", "cấp"}
_RANGE_WORDS = frozenset({"từ", "đến", "tới"})
_QUARTER_WORDS = frozenset({"quý", "quí", "kỳ", "kì"})
_DOCUMENT_WORDS = frozenset({"số", "định", "quyết", "thị", "luật", "lệnh", "tư", "bản"})
_NAMED_DAY = re.compile(rf"(?<!\w)[Nn]gày\s+[{UPPER}][^\W\d_]*(?:\s+[^\W\d_]+){{0,5}}\s+$")
"""A named day just before a date: "ngày Phụ nữ Việt Nam 20-10", "Ngày Quốc tế Thiếu nhi 1-6"."""
_DAY_LIST = re.compile(r"(?<![\d.,/:-])(?:\d{1,2}\s*(?:,|và)\s*)+$")
"""Days listed before a date that ends the list: the "24, 25 và " of "các ngày 24, 25 và 26-6"."""


def after_named_day(match: re.Match[str]) -> bool:
    """Tell whether the date at ``match`` follows the name of a day ("ngày Phụ nữ Việt Nam 20-10")."""
    return _NAMED_DAY.search(match.string, max(0, match.start() - 48), match.start()) is not None


def after_day_list(day: int, match: re.Match[str]) -> bool:
    """Tell whether the date at ``match`` ends a list of days ("các ngày 24, 25 và 26-6"): the listed
    days rise to ``day`` and "ngày" is said just before the list."""
    listed = _DAY_LIST.search(match.string, max(0, match.start() - 40), match.start())
    if listed is None:
        return False
    days = [int(number) for number in re.findall(r"\d+", listed[0])]
    rising = days[0] >= 1 and all(low < high for low, high in pairwise([*days, day]))
    said = words(match.string[max(0, listed.start() - 40) : listed.start()].lower())
    return rising and bool(DAY_WORDS.intersection(said[-4:]))


def is_date(day: int, month: int, match: re.Match[str]) -> bool:
    """Tell whether d/m at ``match`` is a date rather than a ratio, from its value and neighbours."""
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return False
    before = previous_word(match)
    if before in DATE_WORDS:
        return True
    if before in RATIO_WORDS or next_word(match) in COUNT_NOUNS:
        return False
    return (day, month) != (24, 7)  # "phục vụ 24/7" is round the clock


def is_dash_date(day: int, month: int, match: re.Match[str], *, dotted: bool = False) -> bool:
    """Tell whether "29-12" / "29.11" at ``match`` is a date: a valid day-month in a date context.

    A day word before it makes it one ("ngày", "mùng", "đêm", "sáng", "chiều", "tối", "trưa", "rạng",
    "hôm nay", "ngày mai", "chiều nay"); a dotted one also after "từ"/"đến" when "ngày" was just said
    ("các ngày từ 21.6 đến 24.6") or a dashed one that cannot be a rising range ("từ 22-5"). Elsewhere
    a dash is a range or a score ("tỷ số 2-3") and a dot a number; a count or clock after it ("sáng 7-9
    giờ", "tối 2-3 người", "từ 5-3 người") keeps it a range.
    """
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return False
    before = previous_word(match)
    if before in _DASH_DATE_WORDS:
        return before == "ngày" or next_word(match) not in _NOT_AFTER_DATE
    if after_named_day(match) or after_day_list(day, match):
        return next_word(match) not in _NOT_AFTER_DATE
    if before in {"nay", "mai"}:  # "hôm nay 24.12", "ngày mai (26-12)", "chiều nay, 13-5"
        said = words(text_before(match, 24))
        return len(said) >= 2 and said[-2].lower() in _DASH_DATE_WORDS
    if before not in _RANGE_WORDS or next_word(match) in _NOT_AFTER_DATE:
        return False
    # "từ ngày 10-5 đến 10-6", "các ngày từ 21.6 đến 24.6"; "từ 22-5" cannot be a rising range
    return "ngày" in words(text_before(match, 30))[-4:] or (not dotted and day > month)


def read_date(day: int, month: int, year: str | None, match: re.Match[str], ctx: Context) -> str:
    """Read a date, adding "ngày" unless the text already says "ngày"/"mùng" before it."""
    before = previous_word(match)
    if before in {"mùng", "mồng"}:
        spoken = read_number(day)
    else:
        spoken = read_day(day, mung=ctx.mung)
        said = before in {"ngày", "hôm"} or after_named_day(match) or after_day_list(day, match)
        if not said:
            spoken = "ngày " + spoken
    spoken += " tháng " + read_month(month)
    if year:
        spoken += " năm " + read_number(int(year))
    return spoken


def read_month_year(month: str, year: str, match: re.Match[str]) -> str:
    """Read m/yyyy: "tháng 10/2020", "quý 2/2022", or a document number "Nghị định 15/2020"."""
    before = previous_word(match)
    value = int(month)
    year_words = "năm " + read_number(int(year))
    if before in _QUARTER_WORDS:
        return f"{read_number(value)} {year_words}"
    if before == "tháng" and 1 <= value <= 12:
        return f"{read_month(value)} {year_words}"
    if before in _DOCUMENT_WORDS or not 1 <= value <= 12:
        return f"{read_code_number(month)} {year_words}"
    return f"tháng {read_month(value)} {year_words}"


def read_time(hour: int, minute: int) -> str | None:
    """Read a clock time or a number of hours: 7h30 -> "bảy giờ ba mươi phút"; None if impossible."""
    if minute > 59:
        return None
    spoken = f"{read_number(hour)} giờ"
    return f"{spoken} {read_number(minute)} phút" if minute else spoken
