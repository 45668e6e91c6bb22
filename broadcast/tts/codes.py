"""Read codes that mix letters and digits: document numbers, Roman numerals, "F0", "4G", "H5N1".

A document code is read the way a news announcer reads it, every part once: the kind, "số", the number,
the year, "của" the issuer, then the drafting unit after a pause.
- "Nghị định 47/2020/NĐ-CP" -> "Nghị định bốn mươi bảy năm hai nghìn không trăm hai mươi của Chính phủ":
  the kind ("NĐ") is not repeated when the words just before the code name it;
- "Số 123/QĐ-UBND" -> "Quyết định số một trăm hai mươi ba của ủy ban nhân dân": a kind the sentence has
  not named is said before "số" (the written "Số" is taken into the reading, never said twice);
- "Công văn 12/UBND-VP" -> "Công văn mười hai của ủy ban nhân dân, văn phòng": a unit after the issuer
  is read after it (spelled and flagged to the editor when unknown);
- "của <issuer>" is left out when the sentence already says who issued it ("Kế hoạch số 635/KH-UBND ...
  của UBND tỉnh"), also by spelling out an issuer code we do not know ("13-HD/BTGDVTU ... của Ban Tuyên
  giáo và Dân vận Thành ủy"): the issuer is still heard, once;
- any other unknown issuer or unit is spelled letter by letter and reported to the editor, never dropped
  ("142/TB-VG" -> "... của vê giê"); known drafting units are words ("428/VP-KH" -> "..., kế hoạch").
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from broadcast.tts.abbreviations import spell
from broadcast.tts.lexicon import DOCUMENT_TYPES, DRAFTING_UNITS, ISSUERS, PREFIXES_IN_CONTEXT
from broadcast.tts.numbers import (
    read_code_number,
    read_digits,
    read_number,
    read_ordinal,
    read_rank,
    roman_value,
)
from broadcast.tts.rules import Context, Rule, previous_word, text_before

_PART = r"[A-ZĐ][A-Za-zĐđ]*\d*"
_SENTENCE_END = re.compile(r"[.!?;](?=\s|$)")
_CODE_UNITS = {
    "V": "vôn", "W": "oát", "KW": "ki lô oát", "MW": "mê ga oát", "GB": "ghi ga bai", "MB": "mê ga bai",
    "CV": "mã lực",
}  # fmt: skip
_ROMAN_WORDS = frozenset(
    {
        "thứ", "quý", "quí", "khóa", "khoá", "kỳ", "kì", "lần", "hội", "kỷ", "kỉ", "chương", "phần", "mục",
        "lục", "tập", "đoạn", "đợt", "hạng", "giải", "loại", "cấp", "độ", "động", "vùng", "nhóm", "khu",
    }
)  # fmt: skip
"""Words after which a lone I, V, X... is a Roman numeral ("quý I", "báo động III", "Đại hội XIII")."""
_WORD_BEFORE = re.compile(r"([^\W\d_]+)\s+$")
_UNIT_BEFORE = re.compile(r"\d[^\W\d_]{1,3}$")


_WORDS = re.compile(r"[^\W\d_]+")
_SKIPPED_IN_INITIALS = frozenset({"và", "VÀ"})


def initials_in(acronym: str, text: str) -> bool:
    """Tell whether ``text`` spells out ``acronym`` (3+ letters) word by word: "BTGDVTU" in "Ban Tuyên giáo
    và Dân vận Thành ủy" ("và" is not in the acronym; marks do not count, "Đ" does)."""
    if len(acronym) < 3 or not acronym.isupper():
        return False
    initials = "".join(_initial(word) for word in _WORDS.findall(text) if word not in _SKIPPED_IN_INITIALS)
    return acronym in initials


@lru_cache(maxsize=4096)
def _initial(word: str) -> str:
    """Return the first letter of ``word`` in upper case without its marks ("ủy" -> "U", "Đảng" -> "Đ")."""
    first = word[0].upper()
    return first if first == "Đ" else unicodedata.normalize("NFD", first)[0]


def _read_code_number(number: str) -> str:
    """Read a document number with its letter suffix, if any ("12a" -> "mười hai a")."""
    digits = number.rstrip("abcdefghijklmnopqrstuvwxyz")
    suffix = number[len(digits) :]
    spoken = read_code_number(digits)
    return f"{spoken} {spell(suffix)}" if suffix else spoken


def _issuer(part: str, ctx: Context) -> str | None:
    """Return who a code part names ("TTg" -> "Thủ tướng Chính phủ", "QH14" -> "Quốc hội khóa mười bốn")."""
    term = re.fullmatch(r"(UBTV)?QH(\d+)", part)
    if term:
        body = "Ủy ban Thường vụ Quốc hội" if term[1] else "Quốc hội"
        return f"{body} khóa {read_number(int(term[2]))}"
    return ctx.extra.get(part) or ISSUERS.get(part) or ctx.lookup(part)


def _sentence_around(match: re.Match[str]) -> str:
    """Return the sentence holding ``match``, without the match itself."""
    text = match.string
    starts = [end.end() for end in _SENTENCE_END.finditer(text, 0, match.start())]
    after = _SENTENCE_END.search(text, match.end())
    before = text[starts[-1] if starts else 0 : match.start()]
    return before + " " + text[match.end() : after.start() if after else len(text)]


def _mentions(sentence: str, code: str, reading: str) -> bool:
    """Tell whether ``sentence`` names an issuer already: its code as written ("UBND") or its reading
    (a term of office need not be repeated: "Ủy ban Thường vụ Quốc hội" names "UBTVQH14")."""
    return (
        reading.lower().partition(" khóa ")[0] in sentence.lower()
        or re.search(rf"(?<!\w){re.escape(code)}(?!\w)", sentence) is not None
    )


def _document_code(match: re.Match[str], ctx: Context) -> str:
    """Read "01-NQ/TU", "17/2020/NĐ-CP", "Số 123/QĐ-UBND", "15/2012/QH13", "12/UBND-VP"."""
    parts = re.split(r"[/-]", match["code"])
    kind = DOCUMENT_TYPES.get(parts[0])
    if kind:
        parts = parts[1:]
    issuer_part = parts[0] if parts else None
    issuer = _issuer(issuer_part, ctx) if issuer_part else None
    said = match["so"]
    if len(parts) == 1 and issuer is None and not kind and not match["y"]:
        return match[0]  # "5-A" and the like: not a document code
    words = [_read_code_number(match["n"])]
    if match["y"]:
        words += ["năm", read_number(int(match["y"]))]
    if kind and kind not in text_before(match, 40) and (said or previous_word(match) != "số"):
        words = [kind, "số", *words]
    elif said:
        words = [said, *words]
    if issuer_part:
        sentence = _sentence_around(match)
        if issuer is None and initials_in(issuer_part, sentence):
            pass  # "13-HD/BTGDVTU ... của Ban Tuyên giáo và Dân vận Thành ủy": the sentence names it
        elif issuer is None:
            ctx.report(issuer_part)
            words += ["của", spell(issuer_part)]
        elif not _mentions(sentence, issuer_part, issuer):
            words += ["của", issuer]
        units = [_unit(part, ctx) for part in parts[1:]]
        if units:
            words[-1] += ","
            words += [", ".join(units)]
    return " " + " ".join(words) + " "


def _unit(part: str, ctx: Context) -> str:
    """Read the drafting unit of a code ("VP" -> "văn phòng"); an unknown one is spelled and reported."""
    reading = ctx.extra.get(part) or DRAFTING_UNITS.get(part) or _issuer(part, ctx)
    if reading is None:
        ctx.report(part)
        return spell(part)
    return reading


def _letters_and_digits(match: re.Match[str], ctx: Context) -> str:
    """Read "F0", "4G", "H5N1", "QL1A", "U23", "220V" run by run."""
    token = match[0]
    unit = re.fullmatch(r"(\d+)([A-Z]+)", token)
    if unit and unit[2] in _CODE_UNITS:
        return f" {read_number(int(unit[1]))} {_CODE_UNITS[unit[2]]} "
    spoken: list[str] = []
    for run in re.findall(r"[A-ZĐ]+|\d+", token):
        if run.isdigit():
            short = len(run) <= 3 and (len(run) == 1 or not run.startswith("0"))
            spoken.append(read_number(int(run)) if short else read_digits(run))
        elif run == "G" and spoken:
            spoken.append("gờ")  # 3G, 4G, 5G
        elif run in PREFIXES_IN_CONTEXT and re.search(PREFIXES_IN_CONTEXT[run][1], match.string):
            spoken.append(PREFIXES_IN_CONTEXT[run][0])  # "lô cao su số 5 NT6": "nông trường sáu"
        else:
            spoken.append(ctx.lookup(run) or spell(run))
    return " " + " ".join(spoken) + " "


def _roman(match: re.Match[str], ctx: Context) -> str:
    """Read a Roman numeral after a word that expects one: "lần thứ XX", "quý II/2022", "hạng III"."""
    before = _WORD_BEFORE.search(match.string, max(0, match.start() - 12), match.start())
    value = roman_value(match["r"])
    if value is None or before is None or before[1].lower() not in _ROMAN_WORDS:
        return match[0]
    lower = before[1].lower()
    if lower == "thứ":
        spoken = read_ordinal(value)
    elif lower == "giải" or (lower == "hạng" and "chương" in text_before(match, 40)):
        spoken = read_rank(value)  # "Huân chương Lao động hạng II" -> "hạng nhì"
    else:
        spoken = read_number(value)
    year = f" năm {read_number(int(match['y']))}" if match["y"] else ""
    return f"{spoken}{year} "


def _glued_dash(match: re.Match[str], ctx: Context) -> str:
    """A dash between a name and a number ("Covid-19") is a space; after a unit ("5đ-6đ") a range."""
    before = match.string[max(0, match.start() - 4) : match.start()]
    return "-" if _UNIT_BEFORE.search(before) else " "


ROMAN_RULES: tuple[Rule, ...] = ((re.compile(r"(?<![\w])(?P<r>[IVXL]+)(?:/(?P<y>\d{4}))?(?![\w/])"), _roman),)
"""Before the number pass, which would read "II/2022" as a ratio."""

CODE_RULES: tuple[Rule, ...] = (
    (
        re.compile(
            rf"(?:(?<!\w)(?P<so>[Ss]ố:?)\s?)?(?=\d)(?<![\w/.,-])(?P<n>\d+[a-z]?)(?:/(?P<y>\d{{4}}))?[/-](?P<code>{_PART}(?:[/-]{_PART})*)(?![\w/])"
        ),
        _document_code,
    ),
    (re.compile(r"(?<![\w.,/])(?:[A-ZĐ]+\d+[A-ZĐ\d]*|\d+[A-ZĐ]+[A-ZĐ\d]*)(?![\w/])"), _letters_and_digits),
    (re.compile(r"(?<=[^\W\d_])-(?=\d)"), _glued_dash),
)
"""Codes first: their digits must not be read as dates or ranges by the number pass (lines with digits)."""
