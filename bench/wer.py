"""Word error rate: the word-level edit distance between what was said and what a recogniser heard.

Both texts are put in Unicode NFC (a recogniser may return decomposed Vietnamese letters), lower-cased,
and every punctuation character becomes a space before splitting into words.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence


def words(text: str) -> list[str]:
    """Return the words of ``text``: NFC, lower case, punctuation replaced by spaces."""
    text = unicodedata.normalize("NFC", text).lower()
    return "".join(" " if unicodedata.category(char).startswith("P") else char for char in text).split()


def edit_distance(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    """Return the fewest substitutions, deletions and insertions turning ``reference`` into ``hypothesis``."""
    previous = list(range(len(hypothesis) + 1))
    for i, said in enumerate(reference, 1):
        current = [i]
        for j, heard in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (said != heard)))
        previous = current
    return previous[-1]


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """Return (word errors, words in the reference) of one utterance."""
    said = words(reference)
    return edit_distance(said, words(hypothesis)), len(said)


def word_error_rate(pairs: Iterable[tuple[str, str]]) -> float:
    """Return the WER of (reference, hypothesis) pairs: all errors over all reference words."""
    errors = total = 0
    for reference, hypothesis in pairs:
        wrong, count = word_errors(reference, hypothesis)
        errors += wrong
        total += count
    if total == 0:
        raise ValueError("no reference words: the word error rate is undefined")
    return errors / total
