"""Say abbreviations, capitals and loan words: dictionary readings, else Vietnamese letter names.

The dictionaries live in ``lexicon``; a commune's own entries (``Context.extra``) win over them. Unknown
acronyms are spelled ("VTV" -> "vê tê vê") and reported so the editor can add them before approval.
"""

from __future__ import annotations

import re

from broadcast.tts.lexicon import LETTER_NAMES, LOAN_WORDS
from broadcast.tts.numbers import read_number, roman_value
from broadcast.tts.rules import UPPER, Context
from broadcast.tts.syllables import is_syllable

PHRASES: tuple[tuple[str, str], ...] = (
    (r"\bTP\.\s?HCM\b", "thành phố Hồ Chí Minh"),
    (r"\b(?:TP|Tp)\.\s?(?=\w)", "thành phố "),
    (r"\bTX\.\s?(?=\w)", "thị xã "),
    (r"\bĐT\.?\s?(?=\d{2,3}(?!\d))", "đường tỉnh "),  # "ĐT 391" is a road, "ĐT: 0912..." a phone
    (r"\bQ\.\s?(?=\d)", "quận "),
    (r"\bP\.\s?(?=\d)", "phường "),
    (r"\bP\.\s?V\b\.?", "phóng viên"),
    (r"\b[Đđ]/[Cc]\b", "đồng chí"),
    (r"\b[Vv]/[Vv]\b", "về việc"),
    (r"\b[Kk]/[Gg]\b", "kính gửi"),
    (r"\bv\.v\.*", "vân vân"),
    (r"\bPGS\.\s?TS\b\.?", "phó giáo sư, tiến sĩ"),
    (r"\bGS\.\s?TS\b\.?", "giáo sư, tiến sĩ"),
    (r"\b(?:Th\.?S|ThS)\b\.?", "thạc sĩ"),
    (r"\bTS\.(?=\s)", "tiến sĩ"),
    (r"\bBS\.(?=\s)", "bác sĩ"),
    (r"\bKS\.(?=\s)", "kỹ sư"),
    (r"\bSARS-CoV-2\b", "sát cô vi hai"),
    (r"\bCA(?=\s+(?:xã|phường|huyện|tỉnh|thị trấn|thành phố|quận|TP|[Hh]uyện|[Tt]ỉnh|[Xx]ã)\b)", "công an"),
    (r"\bBCH(?=\s+(?:[Qq]uân sự|QS|PCTT|PCCC|PCLB|TKCN|[Pp]hòng))", "ban chỉ huy"),  # not "ban chấp hành"
)
"""Abbreviations with dots or slashes, which the token scan would split: (regex, reading)."""

_PLAIN_CAPS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZĐ&-")
_VOWELS = frozenset("AEIOUY")
_TOKEN = re.compile(rf"(?<![\w&])[{UPPER}][^\W\d_]*(?:[&-][^\W\d_]+)*(?![\w&])")
_GLOSS = re.compile(r"\s*\(\s*([A-ZĐ&-]{2,}(?:\s*[-&]\s*[A-ZĐ]{2,})*)\s*\)")
_LETTERS = re.compile(r"[^\W\d_]+")
_LOAN_WORDS = "|".join(sorted(map(re.escape, LOAN_WORDS), key=len, reverse=True))
_LOAN = re.compile(rf"(?<!\w)(?:{_LOAN_WORDS})(?!\w)", re.IGNORECASE)
_LOAN_HINT = re.compile(_LOAN_WORDS)
"""Case-sensitive and so much faster: run on the lower-cased line to see whether ``_LOAN`` is needed."""
_PHRASES = re.compile("|".join(f"(?P<p{index}>{pattern})" for index, (pattern, _) in enumerate(PHRASES)))
_PHRASE_HINT = re.compile(r"[./]|BCH|ĐT|CA")
_ROMAN_ONLY = re.compile(r"[IVX]{2,}")


def spell(letters: str) -> str:
    """Name each letter of ``letters``: "VNPT" -> "vê en pê tê"."""
    return " ".join(LETTER_NAMES.get(char.upper(), char.lower()) for char in letters if char.isalpha())


def is_abbreviation(token: str) -> bool:
    """Tell whether ``token`` looks like an acronym: 2+ capitals, no Vietnamese marks (except Đ)."""
    return sum(char.isalpha() for char in token) >= 2 and all(char in _PLAIN_CAPS for char in token)


def is_caps_word(token: str) -> bool:
    """Tell whether ``token`` is an ordinary word typed in capitals ("THÔNG", "BÁO")."""
    return sum(char.isalpha() for char in token) >= 2 and token.isupper() and not is_abbreviation(token)


def is_caps_line(line: str) -> bool:
    """Tell whether a line is typed in capitals ("THÔNG BÁO KHẨN"), so its capital words are words.

    A headline typed without marks ("CANH BAO MUA LU") counts too when most of its words are syllables.
    """
    found = re.findall(r"[^\W\d_]+", line)
    if len(found) < 2 or not all(word.isupper() for word in found):
        return False
    if any(map(is_caps_word, found)):
        return True
    return len(found) >= 3 and sum(is_syllable(word.lower()) for word in found) >= 0.75 * len(found)


def expand_phrases(text: str) -> str:
    """Replace dotted and slashed abbreviations ("TP.HCM", "Đ/c") before other passes split them."""
    if not _PHRASE_HINT.search(text):
        return text
    return _PHRASES.sub(lambda match: PHRASES[int(str(match.lastgroup)[1:])][1], text)


def expand_abbreviations(text: str, ctx: Context, *, caps_line: bool = False) -> str:
    """Replace acronyms, capitals and loan words in one line with their readings.

    In a line typed all in capitals (``caps_line``) a capital token that is a Vietnamese syllable is an
    ordinary word ("BAO" in "CANH BAO") and is lower-cased instead of spelled.
    """
    if "(" in text:
        text = _GLOSS.sub(lambda match: _drop_repeated_gloss(match, ctx), text)
    if _LOAN_HINT.search(text.lower()):
        text = _LOAN.sub(lambda match: ctx.extra.get(match[0]) or LOAN_WORDS[match[0].lower()], text)
    return _TOKEN.sub(lambda match: read_token(match[0], ctx, caps_line=caps_line), text)


def _drop_repeated_gloss(match: re.Match[str], ctx: Context) -> str:
    """Drop "(CĐS)" right after "chuyển đổi số", "(PCTT - TKCN)" after "phòng, chống thiên tai và tìm kiếm
    cứu nạn": the reading would say the same words twice (punctuation and "và" aside)."""
    whole = ctx.lookup(re.sub(r"\s+", "", match[1]))
    parts = [part for part in re.split(r"\s*[-&]\s*", match[1]) if part]
    readings = [whole] if whole else [ctx.lookup(part) for part in parts]
    if not all(readings):
        return match.group(0)
    said = [word for word in _LETTERS.findall(" ".join(map(str, readings)).lower()) if word != "và"]
    before = [word for word in _LETTERS.findall(match.string[: match.start()][-200:].lower()) if word != "và"]
    return "" if said and before[-len(said) :] == said else match.group(0)


def read_token(token: str, ctx: Context, *, caps_line: bool = False) -> str:
    """Return the reading of one word-like token that starts with a capital."""
    reading = ctx.lookup(token)
    if reading is not None:
        return reading
    if token.isupper():
        if is_caps_word(token) or (caps_line and is_syllable(token.lower())):
            return token.lower()
        if _ROMAN_ONLY.fullmatch(token) and (value := roman_value(token)) is not None:
            return read_number(value)  # "Đại hội XIII" without a context word
    if len(token) == 1:  # "độ C", "nhóm B"; a lone vowel or "Ở" is a word
        return token if token in _VOWELS else LETTER_NAMES.get(token, token)
    if "-" in token or "&" in token:
        return _read_compound(token, ctx, caps_line=caps_line)
    if not is_abbreviation(token):
        return token
    ctx.report(token)
    return spell(token)


def _read_compound(token: str, ctx: Context, *, caps_line: bool) -> str:
    """Read "UBND-HĐND" part by part (a pause between acronyms), "KH&CN" with "và"."""
    if "&" in token:
        return " và ".join(read_token(part, ctx, caps_line=caps_line) for part in token.split("&") if part)
    parts = [part for part in token.split("-") if part]
    spoken = [read_token(part, ctx, caps_line=caps_line) for part in parts]
    joiner = ", " if all(is_abbreviation(part) for part in parts) else " "
    return joiner.join(spoken)
