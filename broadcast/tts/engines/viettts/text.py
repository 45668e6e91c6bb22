"""Turn spoken Vietnamese text into the token ids vietTTS was trained on, through the operator's lexicon.

The released vietTTS models (v0.4.x, InfoRe voice) read letters, not phonemes: ``lexicon.txt`` maps each word
to its letters separated by spaces, and a token id is a position in :data:`SYMBOLS`. Pure Python, no JAX.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from broadcast.tts.base import TtsError, TtsUnavailable

SPECIAL_SYMBOLS: tuple[str, ...] = ("sil", "sp", "spn", " ")
"""Montreal Forced Aligner marks used in training: silence, short pause, unknown speech, end of word."""

LETTERS = "abcdeghiklmnopqrstuvxyàáâãèéêìíòóôõùúýăđĩũơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ"
"""The 89 letters of the model's alphabet, in training order (f, j, w and z never occur in it)."""

SYMBOLS: tuple[str, ...] = SPECIAL_SYMBOLS + tuple(LETTERS)
"""Token id -> symbol; the order is fixed by the trained embedding table."""

SIL = SYMBOLS.index("sil")
WORD_END = SYMBOLS.index(" ")
_SYMBOL_IDS = {symbol: index for index, symbol in enumerate(SYMBOLS)}

# Where an announcer breathes: sentence and clause punctuation, and dashes, become a silence token.
_PAUSE = re.compile(r"[.,:;?!…\n–—]+")
_WORD = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class Lexicon:
    """Word -> letter tokens, read from the ``lexicon.txt`` shipped with the checkpoints."""

    entries: Mapping[str, tuple[int, ...]]
    skipped_symbols: frozenset[str] = frozenset()
    damaged_entries: int = 0
    """Entries that used a symbol outside the alphabet (loanwords with f, j, w, z); kept minus that symbol."""

    def tokens_for(self, word: str) -> tuple[int, ...]:
        """Return the token ids of ``word``: its lexicon entry, else its own letters that the model knows."""
        found = self.entries.get(word)
        if found is not None:
            return found
        # The training lexicon spells every word letter by letter, so spelling an unknown word the same way
        # is what the model expects; letters outside its alphabet (f, j, w, z, digits) are dropped.
        return tuple(_SYMBOL_IDS[letter] for letter in word if letter in _SYMBOL_IDS)


def _clean(text: str) -> str:
    """Return ``text`` composed (NFKC, as the original) and lower-cased."""
    return unicodedata.normalize("NFKC", text).lower()


def parse_lexicon(lines: Iterable[str]) -> Lexicon:
    """Read ``word<TAB>s y m b o l s`` lines; symbols the model does not know are dropped and reported."""
    entries: dict[str, tuple[int, ...]] = {}
    unknown: set[str] = set()
    damaged = 0
    for raw in lines:
        line = _clean(raw).strip()
        if not line or line.startswith("#"):
            continue
        word, sep, spelling = line.partition("\t")
        if not sep:
            word, _, spelling = line.partition(" ")
        word = word.strip()
        symbols = spelling.split()
        if not word or not symbols:
            continue
        ids = tuple(_SYMBOL_IDS[symbol] for symbol in symbols if symbol in _SYMBOL_IDS)
        if len(ids) < len(symbols):
            damaged += 1
            unknown.update(symbol for symbol in symbols if symbol not in _SYMBOL_IDS)
        if ids:
            entries[word] = ids
    return Lexicon(entries=entries, skipped_symbols=frozenset(unknown), damaged_entries=damaged)


def load_lexicon(path: Path) -> Lexicon:
    """Read ``path``; an unreadable or foreign-alphabet lexicon makes the voice unavailable."""
    try:
        lexicon = parse_lexicon(path.read_text(encoding="utf-8").splitlines())
    except (OSError, UnicodeDecodeError) as exc:
        raise TtsUnavailable(f"Không đọc được từ điển phát âm {path}: {exc}.") from exc
    # The released lexicon spells a few loanwords with letters the model lacks; a lexicon where most
    # entries do is written for another alphabet (an older, phoneme-based vietTTS) and would speak garbage.
    if not lexicon.entries or lexicon.damaged_entries * 2 > len(lexicon.entries):
        sample = " ".join(sorted(lexicon.skipped_symbols)[:10])
        raise TtsUnavailable(
            f"Từ điển phát âm {path} không khớp bảng chữ của mô hình vietTTS này (ký hiệu lạ: {sample})."
        )
    return lexicon


def words_and_pauses(text: str) -> list[str | None]:
    """Split ``text`` into lower-case words, with None where punctuation asks for a pause."""
    items: list[str | None] = []
    position = 0
    cleaned = _clean(text)
    for pause in _PAUSE.finditer(cleaned):
        items.extend(_WORD.findall(cleaned[position : pause.start()]))
        items.append(None)
        position = pause.end()
    items.extend(_WORD.findall(cleaned[position:]))
    return items


def text_to_tokens(text: str, lexicon: Lexicon) -> list[int]:
    """Return ``[sil, letters of word 1, word-end, …, sil]`` for ``text``, pauses as extra ``sil`` tokens."""
    tokens = [SIL]
    for item in words_and_pauses(text):
        if item is None:
            # One silence per pause, and none next to the opening or closing silence: the station adds its
            # own pauses between sentences, so a trailing full stop must not lengthen the clip.
            if tokens[-1] != SIL:
                tokens.append(SIL)
            continue
        spelled = lexicon.tokens_for(item)
        if spelled:
            tokens.extend(spelled)
            tokens.append(WORD_END)
    if tokens[-1] != SIL:
        tokens.append(SIL)
    if len(tokens) <= 2:
        raise TtsError("Văn bản không có chữ tiếng Việt nào để bộ đọc vietTTS đọc.")
    return tokens
