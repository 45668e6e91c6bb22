"""Cut unaccented Vietnamese written together ("chuyendoiso", "haiduong") back into syllables.

Web addresses and e-mail names are Vietnamese words with the marks and spaces stripped. Read as one blob
the engine mangles them; cut into syllables ("chuyen doi so") it reads them close to the real words.
"""

from __future__ import annotations

import re
from functools import lru_cache

from broadcast.tts.lexicon import ABBREVIATIONS

_ONSET = r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|th|tr|qu|[bcdghklmnprstvxđ])?"
_CLOSED = r"(?:oai|oay|uoi|uou|ieu|yeu|uya|uyu|ai|ao|au|ay|eo|eu|ia|iu|oi|ui|uu|ua|oa|oe|uy|a|e|i|o|u|y)"
"""Nuclei without a final consonant ("hai", "dao", "mua", "xa")."""
_RHYMES = (
    r"(?:a|e|i|y|oa|uy)(?:ch|nh)",  # "ch"/"nh" close only front vowels: "bach", "xinh", "oanh"
    r"(?:a|e|o|u|oa|oo|uo|ie|ye|uye|ua)(?:ng|c)",  # "ng"/"c" never after a lone i/y
    r"(?:a|e|i|o|u|y|oa|oe|uo|ie|ye|uye|ua|ue|uy)[mnpt]",
)
_SYLLABLE = re.compile(rf"{_ONSET}(?:{'|'.join(_RHYMES)}|{_CLOSED})")
_LONGEST = 8


def is_syllable(word: str) -> bool:
    """Tell whether lower-case ``word`` is one unaccented Vietnamese syllable ("bao", "truong")."""
    return _SYLLABLE.fullmatch(word) is not None


def split_syllables(word: str) -> list[str] | None:
    """Cut lower-case ``word`` into syllables or known abbreviations; None when it is not Vietnamese.

    "chuyendoiso" -> ["chuyen", "doi", "so"]; "ubndxa" -> ["UBND", "xa"] (an abbreviation is returned in
    capitals so the caller can spell it).
    """
    return _split(word.lower())


def _split(word: str) -> list[str] | None:
    """Return the best segmentation of ``word``, or None."""
    best = _best(word)
    return None if best is None else list(best[1])


@lru_cache(maxsize=1024)
def _best(word: str) -> tuple[tuple[int, int], tuple[str, ...]] | None:
    """Segment ``word`` with the fewest vowel-initial pieces, then the fewest pieces.

    Vowel-initial syllables are rare inside names, so "xatanlap" is "xa tan lap", not "xat an lap".
    """
    if not word:
        return (0, 0), ()
    found: tuple[tuple[int, int], tuple[str, ...]] | None = None
    for end in range(min(len(word), _LONGEST), 0, -1):
        head = word[:end]
        piece = head if is_syllable(head) else _abbreviation(head)
        rest = _best(word[end:]) if piece is not None else None
        if piece is None or rest is None:
            continue
        (vowel_starts, count), pieces = rest
        cost = (vowel_starts + (head[0] in "aeiouy"), count + 1)
        if found is None or cost < found[0]:
            found = cost, (piece, *pieces)
    return found


def _abbreviation(head: str) -> str | None:
    """Return ``head`` in capitals when it is a known abbreviation of 2+ letters ("ubnd" -> "UBND")."""
    upper = head.upper()
    return upper if len(head) >= 2 and upper in ABBREVIATIONS else None
