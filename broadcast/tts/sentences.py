"""Cut normalised text into sentence-sized pieces for parallel synthesis (pure functions, no I/O).

Engines read a short sentence faster and more steadily than a whole bulletin, and pieces can be spoken on
all cores at once. Cutting never happens inside a word, so joining the pieces with spaces gives back the
same words in the same order.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?:(?<=[.!?;])|(?<=[.!?;][)\]”\"']))\s+")
_AFTER_COMMA = re.compile(r"(?<=,)\s+")


def split_sentences(spoken: str, max_chars: int = 300) -> list[str]:
    """Split ``spoken`` at . ! ? ; and line breaks; cut longer sentences at commas, then at spaces."""
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    pieces: list[str] = []
    for line in spoken.splitlines():
        for sentence in _SENTENCE_END.split(line.strip()):
            sentence = " ".join(sentence.split())
            if not sentence:
                continue
            if len(sentence) <= max_chars:
                pieces.append(sentence)
            else:
                pieces.extend(_split_long(sentence, max_chars))
    return pieces


def _split_long(sentence: str, max_chars: int) -> list[str]:
    """Cut one over-long sentence at commas, packing clauses up to ``max_chars``; then at spaces."""
    pieces: list[str] = []
    for chunk in _pack(_AFTER_COMMA.split(sentence), max_chars):
        if len(chunk) <= max_chars:
            pieces.append(chunk)
        else:
            # A clause with no comma in reach: fall back to whole words (a lone giant word stays whole).
            pieces.extend(_pack(chunk.split(" "), max_chars))
    return pieces


def _pack(parts: list[str], max_chars: int) -> list[str]:
    """Join consecutive ``parts`` with spaces into chunks of at most ``max_chars`` where possible."""
    chunks: list[str] = []
    current = ""
    for part in parts:
        if not part:
            continue
        if current and len(current) + 1 + len(part) <= max_chars:
            current += " " + part
        else:
            if current:
                chunks.append(current)
            current = part
    if current:
        chunks.append(current)
    return chunks
