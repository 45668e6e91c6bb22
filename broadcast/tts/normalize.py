"""Turn a pasted bulletin into what the speech engine should read (pure functions, no I/O).

The pipeline, line by line: clean web leftovers (``cleanup``) -> the commune's own multi-word entries ->
dotted abbreviations -> web and e-mail addresses (``web``) -> flood alarm levels and storm positions
(``hydromet``) -> codes: document numbers, "F0", Roman
numerals (``codes``) -> numbers, dates, times, ranges, units, phones (``quantities``, ``dates``) -> storm
names after "bão" (``storm_names``) -> abbreviations and loan words (``abbreviations``) -> symbols,
punctuation and spacing (``tidy``).

The target is a northern announcer: "nghìn", "linh", "mốt/tư/lăm", "tháng tư", "ngày ba mươi mốt tháng
mười hai", "thứ tư", "mười hai trên sáu mươi ba", phone numbers digit by digit in their groups, document
codes as "Nghị định 47 năm 2020 của Chính phủ". Output keeps punctuation (the engine pauses on it), ends
every line with a stop, and contains no digits: whatever no rule claims is still read as a number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from broadcast.tts.abbreviations import expand_abbreviations, expand_phrases, is_caps_line
from broadcast.tts.cleanup import clean_lines
from broadcast.tts.codes import CODE_RULES, ROMAN_RULES
from broadcast.tts.coverage import unread_in_line
from broadcast.tts.hydromet import HINT as HYDROMET_HINT
from broadcast.tts.hydromet import HYDROMET_RULES
from broadcast.tts.numbers import check_number_lengths
from broadcast.tts.quantities import QUANTITY_RULES
from broadcast.tts.rules import UPPER, Context, apply_rules
from broadcast.tts.storm_names import HINT as STORM_HINT
from broadcast.tts.storm_names import read_storm_names
from broadcast.tts.web import WEB_RULES

_TOKEN_KEY = re.compile(r"[^\W\d_]+(?:[&-][^\W\d_]+)*")
_SYMBOLS = {
    "&": " và ", "/": ", ", "+": " cộng ", "=": " bằng ", "~": " khoảng ", "≈": " khoảng ", "@": " a còng ",
    "±": " cộng trừ ", "≥": " lớn hơn hoặc bằng ", "≤": " nhỏ hơn hoặc bằng ", ">": ", ", "<": ", ",
    "»": ", ", "°": " độ ", "_": " ", "\\": " ", "[": " (", "]": ") ", "{": " ", "}": " ",
}  # fmt: skip
_SYMBOL = re.compile("|".join(map(re.escape, _SYMBOLS)))
_SPACED_DASH = re.compile(r"(?<=[^\W\d_,.])\s*[-–—]\s+|\s+[-–—]\s*(?=[^\W\d_])|\s+[-–—]\s+")
_LOWER = "a-zđ" + "".join(sorted({char.lower() for char in UPPER[3:]}))
_PLACE_RANGE = re.compile(
    rf"(\b[Tt]ừ\s+(?:[{UPPER}][{_LOWER}]+\s+){{0,3}}[{UPPER}][{_LOWER}]+)\s*[-–—]\s*(?=[{UPPER}][{_LOWER}])"
    r"(?![^,.;:]*\bđến\b)"
)
"""A dash between place names after "từ", no "đến" later in the clause: "từ Thanh Hóa-Phú Yên" (not
"từ Bà Rịa-Vũng Tàu đến Cà Mau", not "từ UBND-HĐND")."""
_GLUED_DASH = re.compile(r"(?<=[^\W\d_])[-–—](?=[^\W\d_])")
_SENTENCE_START = re.compile(r"(^|[.!?]\s)(\w)")
_END = ".!?:;"
_DIGIT = re.compile(r"\d")
_WEB_HINT = re.compile(r"@|\.(?i:vn|com|net|org|gov|edu|info|io|int)\b")
_ROMAN_HINT = re.compile(r"(?<!\w)[IVXL]+(?!\w)")
_DASHES = re.compile(r"[-–—]")


def normalize_text(text: str, extra: Mapping[str, str] | None = None, *, mung: bool = False) -> str:
    """Return what the machine should read for bulletin ``text``: one spoken line per paragraph.

    ``extra`` maps abbreviations as written ("HTX", "KDC") to readings and wins over the built-in
    dictionary; ``mung`` reads days 1-10 of a date with the northern "mùng" ("ngày mùng một tháng mười").
    """
    check_number_lengths(text)  # thousands of digits: a clear refusal, not int()'s ValueError
    ctx = Context(extra=extra or {}, mung=mung)
    spoken = (normalize_line(line, ctx) for line in clean_lines(text))
    return "\n".join(line for line in spoken if line)


def unknown_abbreviations(text: str, extra: Mapping[str, str] | None = None) -> list[str]:
    """Return what the editor must check before approval, in order of first use, without repeats.

    First the all-caps tokens that will be spelled letter by letter, then what ``unread_tokens`` finds:
    letters glued to digits in a shape no rule reads, and pieces that would vanish from the reading.
    """
    check_number_lengths(text)
    ctx = Context(extra=extra or {}, unknown=[])
    unread: list[str] = []
    for line in clean_lines(text):
        unread += unread_in_line(line, normalize_line(line, ctx), ctx)
    return list(dict.fromkeys([*(ctx.unknown or []), *unread]))


def unread_tokens(text: str, extra: Mapping[str, str] | None = None) -> list[str]:
    """Return the pieces of ``text`` the reading garbles or drops ("BĐ9X", "12kgx"), in order, once each."""
    check_number_lengths(text)
    ctx = Context(extra=extra or {})
    found = (unread_in_line(line, normalize_line(line, ctx), ctx) for line in clean_lines(text))
    return list(dict.fromkeys(token for tokens in found for token in tokens))


def normalize_line(line: str, ctx: Context) -> str:
    """Return the spoken form of one cleaned line."""
    caps_line = is_caps_line(line)
    if ctx.extra:
        line = _extra_phrases(tuple(ctx.extra.items())).sub(lambda match: ctx.extra[match[0]], line)
    line = expand_phrases(line)
    if "-" in line:
        line = _PLACE_RANGE.sub(r"\1 đến ", line)  # "từ Thanh Hóa-Phú Yên", before names are joined
    # The passes are gated by cheap searches: most lines have no address, Roman numeral or digit.
    if _WEB_HINT.search(line):
        line = apply_rules(line, WEB_RULES, ctx)
    has_digit = _DIGIT.search(line) is not None
    if HYDROMET_HINT.search(line):  # "BĐ2", "BĐII", "16,8N"
        line = apply_rules(line, HYDROMET_RULES, ctx)
    if has_digit:
        line = apply_rules(line, CODE_RULES, ctx)
    if _ROMAN_HINT.search(line):
        line = apply_rules(line, ROMAN_RULES, ctx)
    if has_digit:
        line = apply_rules(line, QUANTITY_RULES, ctx)
    if STORM_HINT.search(line):  # "bão YAGI", "bão số năm (NESAT)": before capitals are spelled
        line = read_storm_names(line)
    line = expand_abbreviations(line, ctx, caps_line=caps_line)
    return tidy(line)


@lru_cache(maxsize=32)
def _extra_phrases(items: tuple[tuple[str, str], ...]) -> re.Pattern[str]:
    """Compile the commune entries the token pass cannot see ("TT.YT", "Q.1", "xã TL", "ubnd")."""
    keys = sorted((key for key, _ in items if key and not _is_token_key(key)), key=len, reverse=True)
    if not keys:
        return re.compile(r"(?!)")
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, keys)) + r")(?!\w)")


def _is_token_key(key: str) -> bool:
    """Tell whether the abbreviation pass will meet ``key`` as one token (it scans capitalised words)."""
    return _TOKEN_KEY.fullmatch(key) is not None and key[0].isupper()


def tidy(line: str) -> str:
    """Fix spacing and punctuation the passes left, and end the line so the engine pauses there."""
    if _DASHES.search(line):
        line = _SPACED_DASH.sub(", ", line)  # "kinh tế - xã hội": a short pause
        line = _GLUED_DASH.sub(" ", line)  # "Bà Rịa-Vũng Tàu"
    line = _SYMBOL.sub(lambda match: _SYMBOLS[match[0]], line)
    line = " ".join(line.split())
    line = re.sub(r"\s+([,.;:!?)])", r"\1", line)
    line = re.sub(r"\(\s+", "(", line)
    line = re.sub(r"\(\s*\)", "", line)
    line = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", line)
    line = re.sub(r"\.{4,}", "...", line)
    line = re.sub(r"[,;:]\s*(\.\.\.|[.!?])", r"\1", line)
    line = re.sub(r"([.!?;:])\s*,", r"\1", line)
    line = re.sub(r"(?<!\.)\.\s*\.(?!\.)", ".", line)
    line = re.sub(r"([,;:!?])(?=\w)", r"\1 ", line)
    line = line.strip(" ,;-")
    line = _SENTENCE_START.sub(lambda match: match[1] + match[2].upper(), line)
    if line and line[-1] not in _END:
        line += "."
    return line
