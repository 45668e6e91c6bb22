"""Read web addresses and e-mail addresses the way people say them on air ("chấm", "a còng")."""

from __future__ import annotations

import re

from broadcast.tts.abbreviations import spell
from broadcast.tts.lexicon import LOAN_WORDS
from broadcast.tts.numbers import read_digits
from broadcast.tts.rules import Context, Rule
from broadcast.tts.syllables import split_syllables

WEB_WORDS: dict[str, str] = {
    "www": "vê kép vê kép vê kép", "vn": "vê en", "com": "com", "net": "nét", "org": "o rờ gờ",
    "gov": "gốp", "edu": "e đu", "info": "in phô", "io": "i o", "int": "in", "gmail": "gờ meo",
    "yahoo": "da hu", "outlook": "ao lúc", "hotmail": "hót meo", "mail": "meo", "html": "hát tê em lờ",
    "php": "pê hát pê", "pdf": "pê đê ép",
}  # fmt: skip
"""Pieces of addresses with an established spoken form."""

_TLDS = "vn|com|net|org|gov|edu|info|io|int"
_SEPARATORS = {".": "chấm", "/": "gạch chéo", "-": "gạch ngang", "_": "gạch dưới", "@": "a còng"}
_PIECE = re.compile(r"[A-Za-zĐđ]+|\d+|[./_@-]")
_CAMEL = re.compile(r"[A-ZĐ]?[a-zđ]+|[A-ZĐ]+(?![a-z])")


def read_web_word(word: str) -> str:
    """Read one run of letters from an address: known words, Vietnamese syllables, else letter names."""
    lower = word.lower()
    known = WEB_WORDS.get(lower) or LOAN_WORDS.get(lower)
    if known:
        return known
    syllables = split_syllables(lower)
    if syllables is not None:
        return " ".join(spell(piece) if piece.isupper() else piece for piece in syllables)
    parts = _CAMEL.findall(word)
    if len(parts) > 1:  # "OneTouch": read each capitalised part on its own
        return " ".join(read_web_word(part) for part in parts)
    return spell(word) if len(word) <= 4 else word


def read_address(address: str) -> str:
    """Read a URL or e-mail address piece by piece: "OneTouch.edu.vn" -> "oan tát chấm e đu chấm vê en"."""
    address = re.sub(r"^(?:https?://)?(?:www\.)?", "", address, flags=re.IGNORECASE).rstrip("/")
    spoken = []
    for piece in _PIECE.findall(address):
        if piece in _SEPARATORS:
            spoken.append(_SEPARATORS[piece])
        elif piece.isdigit():
            spoken.append(read_digits(piece))
        else:
            spoken.append(read_web_word(piece))
    return " ".join(spoken)


def _address(match: re.Match[str], ctx: Context) -> str:
    """Replace an address, keeping a sentence-final dot out of it."""
    return f" {read_address(match[0])} "


WEB_RULES: tuple[Rule, ...] = (
    (re.compile(r"(?<![\w@.])[\w.+-]+@[\w-]+(?:\.[\w-]+)+(?<![.-])"), _address),
    (
        re.compile(
            rf"(?<![\w@.])(?:https?://)?(?:[\w-]+\.)+(?:{_TLDS})\b(?![@-])(?:/[\w./%?=&#-]*[\w/])?",
            re.IGNORECASE,
        ),
        _address,
    ),
)
"""E-mail first: its domain would otherwise be read as a bare web address."""
