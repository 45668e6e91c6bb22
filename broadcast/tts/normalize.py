"""Turn a pasted bulletin into what the speech engine should read (pure functions, no I/O).

The pipeline, line by line: clean web leftovers -> special tokens (URLs, document codes, Roman numerals,
letter-digit codes) -> numbers, dates and times -> abbreviations -> punctuation and spacing.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from broadcast.tts.abbreviations import LETTER_NAMES, expand_abbreviations, is_caps_word, spell
from broadcast.tts.numbers import Rule, expand_numbers, read_digits, read_number, read_ordinal, roman_value

BOILERPLATE: tuple[str, ...] = (
    r"Tổng số điểm của bài viết là:.*",
    r"Xếp hạng:.*phiếu bầu",
    r"Click để đánh giá bài viết",
    r"Ý kiến bạn đọc",
    r"Bạn đã không sử dụng Site.*",
)
"""Whole lines that pages add around an article (rating widgets, comment boxes) and nobody should hear."""

_BOILERPLATE = re.compile("|".join(f"(?:{line})" for line in BOILERPLATE), re.IGNORECASE)
_BLOCK_TAGS = re.compile(r"<\s*(?:br|/p|/div|/li|/h\d|/tr)\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_TEMPLATE_LEFTOVER = re.compile(r"\{[^{}\n]*\}")
_DROPPED_CHARS = re.compile(r"[\"“”„«»‘’`|*#•·_~^\u200b\ufeff]")
_BULLET = re.compile(r"^\s*[-–—+•]\s+")
_TLDS = "vn|com|net|org|gov|edu|info|io"
_ROMAN_CONTEXT = "thứ|quý|quí|khóa|khoá|kỳ|lần|hội|kỷ|chương|phần|mục|tập"
_SENTENCE_END = ".!?:;"


def normalize_text(text: str) -> str:
    """Return what the machine should read for bulletin ``text``: one spoken line per paragraph."""
    spoken = (_normalize_line(line) for line in clean_lines(text))
    return "\n".join(line for line in spoken if line)


def unknown_abbreviations(text: str) -> list[str]:
    """Return the all-caps tokens of ``text`` the dictionary does not know, in order of first use."""
    found: list[str] = []
    for line in clean_lines(text):
        _normalize_line(line, on_unknown=found.append)
    return list(dict.fromkeys(found))


def clean_lines(text: str) -> list[str]:
    """Strip HTML, template leftovers, page boilerplate and stray symbols; return the non-empty lines."""
    text = _BLOCK_TAGS.sub("\n", text)
    text = html.unescape(_TAG.sub(" ", text))
    text = _TEMPLATE_LEFTOVER.sub(" ", text)
    text = text.replace("./.", ".").replace("…", "...")
    text = _DROPPED_CHARS.sub(" ", text)
    text = re.sub(r"\.{4,}", "...", text)
    lines = []
    for raw in text.splitlines():
        line = " ".join(_BULLET.sub("", raw).split())
        if line and not _BOILERPLATE.fullmatch(line):
            lines.append(line)
    return lines


def _normalize_line(line: str, on_unknown: Callable[[str], None] | None = None) -> str:
    """Return the spoken form of one cleaned line."""
    caps_line = _is_caps_line(line)
    for pattern, handler in SPECIAL_RULES:
        line = pattern.sub(handler, line)
    line = expand_numbers(line)
    line = expand_abbreviations(line, caps_line=caps_line, on_unknown=on_unknown)
    return _tidy(line)


def _is_caps_line(line: str) -> bool:
    """Tell whether a line is typed in capitals ("THÔNG BÁO KHẨN"), so its capital words are words."""
    words = re.findall(r"[^\W\d_]+", line)
    return len(words) >= 2 and all(word.isupper() for word in words) and any(map(is_caps_word, words))


def _url(match: re.Match[str]) -> str:
    """Read a web address: "OneTouch.edu.vn" -> "OneTouch chấm edu chấm vê en"."""
    address = re.sub(r"^https?://(?:www\.)?", "", match.group(0)).rstrip("/")
    host, _, path = address.partition("/")
    parts = [part if re.search(r"[aeiouy]", part, re.IGNORECASE) else spell(part) for part in host.split(".")]
    spoken = " chấm ".join(parts)
    if path:
        spoken += " gạch chéo " + " gạch chéo ".join(path.split("/"))
    return f" {spoken} "


def _document_code(match: re.Match[str]) -> str:
    """Read a legal document code: "01-NQ/TU" -> "không một en quy tê u"."""
    number, year, letters = match["n"], match["y"], match["code"]
    words = [read_digits(number) if number.startswith("0") else read_number(int(number))]
    if year:
        words += ["năm", read_number(int(year))]
    words += [spell(group) for group in re.split(r"[/-]", letters)]
    return " " + " ".join(words) + " "


def _roman(match: re.Match[str]) -> str:
    """Read a Roman numeral after a word that expects one: "lần thứ XX", "quý II/2022"."""
    value = roman_value(match["r"])
    if value is None:
        return match.group(0)
    word = match["w"]
    spoken = read_ordinal(value) if word.lower() == "thứ" else read_number(value)
    year = f" năm {read_number(int(match['y']))}" if match["y"] else ""
    return f"{word} {spoken}{year} "


SPECIAL_RULES: tuple[Rule, ...] = tuple(
    (re.compile(pattern), handler)
    for pattern, handler in (
        (rf"(?:https?://)?(?:[\w-]+\.)+(?:{_TLDS})\b(?:/[\w./%-]*)?", _url),
        (
            r"(?<![\w/])(?P<n>\d+)(?:/(?P<y>\d{4}))?[/-]"
            r"(?P<code>[A-ZĐ][A-Za-zĐđ]*(?:[/-][A-ZĐ][A-Za-zĐđ]*)+)(?![\w])",
            _document_code,
        ),
        (rf"(?<![\w])(?P<w>(?i:{_ROMAN_CONTEXT}))\s+(?P<r>[IVXLCDM]+)(?:/(?P<y>\d{{4}}))?(?![\w])", _roman),
        # F0, F1 (epidemic contact levels), 4G, Quốc lộ 1A
        (r"(?<![\w])([A-Z])(\d{1,2})(?![\w])", lambda m: f" {LETTER_NAMES[m[1]]} {read_number(int(m[2]))} "),
        (
            r"(?<![\w.,])(\d{1,3})([A-Z])(?![\w])",
            lambda m: f" {read_number(int(m[1]))} {LETTER_NAMES[m[2]]} ",
        ),
        # Covid-19
        (r"(?<=[^\W\d_])-(?=\d)", lambda m: " "),
    )
)
"""Tokens that would confuse the number and abbreviation passes, read first."""


def _tidy(line: str) -> str:
    """Fix spacing and punctuation the passes left, and end the line so the engine pauses there."""
    line = re.sub(r"(?<=[^\W\d_,.])\s*[-–—]\s+|\s+[-–—]\s*(?=[^\W\d_])", ", ", line)  # "kinh tế - xã hội"
    line = line.replace("&", " và ").replace("/", ", ")
    line = " ".join(line.split())
    line = re.sub(r"\s+([,.;:!?)\]])", r"\1", line)
    line = re.sub(r"([(\[])\s+", r"\1", line)
    line = re.sub(r",(?:\s*,)+", ",", line)
    line = re.sub(r"\.{4,}", "...", line)
    line = re.sub(r",\s*([.;:!?])", r"\1", line)
    line = re.sub(r"([,;:])(?=[^\s\d])", r"\1 ", line)
    line = line.strip(" ,;-")
    line = re.sub(r"(^|[.!?]\s)(\w)", lambda m: m[1] + m[2].upper(), line)
    if line and line[-1] not in _SENTENCE_END:
        line += "."
    return line
