"""Check that a reading covers its text: nothing is dropped or garbled without the editor being told.

Given a cleaned line and what the normaliser made of it, ``unread_in_line`` returns the pieces of the line
the editor must look at before approval:
(a) runs that glue letters to digits in a shape no rule reads ("BĐ9X", "A3b", "12kgx", "5N" outside a
    position): they come out letter by letter, or as nonsense;
(b) runs of the line whose content does not appear in the reading at all — a word, an abbreviation or a
    unit that vanished — and symbols left in the reading that no engine will say ("€", "§").
A run counts as read when the reading holds the run itself or one of its known readings (the commune's
dictionary, the built-in lexicon, units, document kinds and issuers, hemispheres, Roman numerals, letter
names). Numbers are checked by the pass that reads them: every digit becomes words (the tests hold the
normaliser to a digit-free output), so digits are not compared here.

Pure functions; they run where the editor's warnings are computed, never on the speech path.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from broadcast.tts.abbreviations import expand_phrases, spell
from broadcast.tts.codes import initials_in
from broadcast.tts.hydromet import HEMISPHERES
from broadcast.tts.lexicon import (
    ABBREVIATIONS,
    DOCUMENT_TYPES,
    DRAFTING_UNITS,
    ISSUERS,
    LOAN_WORDS,
    PREFIXES_IN_CONTEXT,
)
from broadcast.tts.numbers import read_number, read_ordinal, read_rank, roman_value
from broadcast.tts.quantities import PER_UNITS, UNITS
from broadcast.tts.rules import Context
from broadcast.tts.storm_names import PART_READINGS
from broadcast.tts.syllables import is_syllable

_RUN = re.compile(r"[^\W_]+")
_WEB = re.compile(r"@|://|www\.|\.(?i:vn|com|net|org|gov|edu|info|io|int)\b")
_UNIT = "|".join(map(re.escape, sorted((unit for unit in UNITS if unit.isalnum()), key=len, reverse=True)))
_KNOWN_PREFIXES = "|".join(
    sorted(
        (
            re.escape(key)
            for key in {*ABBREVIATIONS, *ISSUERS}
            if key.isalpha() and key.isupper() and key != "BĐ"
        ),
        key=len,
        reverse=True,
    )
)
_KNOWN_MIXED = re.compile(
    rf"\d+(?:{_UNIT})"  # "49km", "000đ" of "50.000đ", "20m3", "25oC"
    rf"|(?:{_UNIT})"  # a unit on its own: "m3" of "1.200 m3/s"
    r"|\d{1,3}[hg]\d{0,2}"  # "7h30", "72h", "7g"
    r"|BĐ(?:[1-3]|I{1,3})"  # flood alarm levels: only the three official ones
    r"|[A-ZĐ]\d+(?:[A-ZĐ]\d*)?"  # "F0", "U23", "H5N1", "A1"
    r"|\d+[A-DF-MO-RT-VX-ZĐ]\d?"  # "4G", "9A", "12A1"; "17N" is a coordinate or nothing
    r"|\d+(?:V|W|KW|MW|GB|MB|kV|kW)"  # "220V", "64GB"
    rf"|(?:{_KNOWN_PREFIXES})\d+[A-ZĐ]?"  # "QL1A", "QH14", "UBTVQH14"
)
"""Letter-and-digit runs some rule reads properly; any other mix is flagged."""
_COORDINATE = re.compile(r"\d+[NSEW]")
_GLUED_WORD = re.compile(r"\d+([^\W\d_A-ZĐ]+)")
_SPEAKABLE = re.compile(r"[\w\s.,;:!?()…'\"-]")
_EDGES = ".,;:!?()[]…'\""
_TIME_LETTERS = {"h": "giờ", "g": "giờ"}


def unread_in_line(line: str, spoken: str, ctx: Context) -> list[str]:
    """Return the runs of cleaned ``line`` that ``spoken`` (its reading) does not cover, in order."""
    heard = " " + " ".join(_RUN.findall(spoken.lower())) + " "
    found: list[str] = []
    for run in _runs(line, ctx):
        if any(char.isdigit() for char in run):
            if any(char.isalpha() for char in run) and not _known_mixed(run, heard, ctx):
                found.append(run)
        elif not _heard(run, heard, ctx) and not initials_in(run, spoken):
            found.append(run)  # an issuer code the sentence names in full ("BTGDVTU") is heard
    found += [char for char in spoken if not _SPEAKABLE.match(char)]
    return found


def _runs(line: str, ctx: Context) -> Iterator[str]:
    """Yield the letter/digit runs of ``line`` a listener should hear, web and e-mail addresses aside.

    Dotted and slashed abbreviations ("TP.HCM", "Đ/c") and the commune's multi-word entries are taken
    as the phrases they are, before the line is cut into runs.
    """
    for key in ctx.extra:
        if key in line and not key.isalnum():
            line = line.replace(key, " " + ctx.extra[key] + " ")
    for token in expand_phrases(line).split():
        if _WEB.search(token):
            continue
        word = token.strip(_EDGES)
        if (("&" in word or "-" in word) and ctx.lookup(word) is not None) or word.lower() in LOAN_WORDS:
            yield word  # "TT&TT", "KT-XH", "Co.op": one entry of the dictionary
        else:
            yield from _RUN.findall(token)


def _known_mixed(run: str, heard: str, ctx: Context) -> bool:
    """Tell whether a letter-and-digit run is read by a rule (or the commune's dictionary)."""
    if ctx.lookup(run) is not None or _KNOWN_MIXED.fullmatch(run.replace("²", "2").replace("³", "3")):
        return True
    prefix = re.fullmatch(r"([A-ZĐ]+)\d+", run)
    if prefix and prefix[1] in PREFIXES_IN_CONTEXT and f" {PREFIXES_IN_CONTEXT[prefix[1]][0]} " in heard:
        return True  # "NT6" read "nông trường sáu"
    glued = _GLUED_WORD.fullmatch(run)
    if glued:  # "7.500đồng": a word typed against its number, heard as written
        return glued[1].islower() and is_syllable(_unmarked(glued[1])) and f" {glued[1]} " in heard
    return _COORDINATE.fullmatch(run) is not None and any(
        f" độ {name} " in heard for name in HEMISPHERES.values()
    )


def _unmarked(word: str) -> str:
    """Return ``word`` without Vietnamese marks ("đồng" -> "dong"), to test it as a syllable."""
    stripped = unicodedata.normalize("NFD", word.replace("đ", "d"))
    return "".join(char for char in stripped if not unicodedata.combining(char))


def _heard(run: str, heard: str, ctx: Context) -> bool:
    """Tell whether ``heard`` holds ``run`` as written or one of its readings."""
    return any(f" {candidate} " in heard for candidate in _candidates(run, ctx) if candidate)


def _candidates(run: str, ctx: Context) -> Iterator[str]:
    """Yield the lower-case word strings ``run`` may be read as."""
    yield run.lower()
    for table in (
        ctx.extra,
        ABBREVIATIONS,
        DOCUMENT_TYPES,
        ISSUERS,
        DRAFTING_UNITS,
        UNITS,
        PER_UNITS,
        HEMISPHERES,
    ):
        reading = table.get(run)
        if reading:
            yield _words(reading)
    loan = LOAN_WORDS.get(run.lower())
    if loan:
        yield _words(loan)
    storm = PART_READINGS.get(run)
    if storm:
        yield storm  # "YAGI", "SON" of "SON-TINH": said as the storm only after "bão", else spelled
    if run in _TIME_LETTERS:
        yield _TIME_LETTERS[run]
    value = roman_value(run) if run.isupper() else None
    if value:
        yield from (read_number(value), read_ordinal(value), read_rank(value))
    level = roman_value(run[2:]) if run.startswith("BĐ") else None
    if level:
        yield f"báo động {read_number(level)}"  # "BĐII"
    yield _words(spell(run))


def _words(text: str) -> str:
    """Return ``text`` lower-cased as single-spaced words, punctuation dropped."""
    return " ".join(_RUN.findall(text.lower()))
