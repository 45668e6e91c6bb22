"""What of a bulletin the machine cannot read properly, remembered across requests: the abbreviations it
will spell letter by letter, then letters glued to digits it has no rule for ("BĐ9X") and pieces that
would vanish from the reading (`broadcast.tts.unknown_abbreviations`; the editor sees them as a warning).

Finding them runs the whole normaliser over the text (measured 5–11 ms for a 4,000–8,000 character
bulletin; ~13 µs from the memo), and a list page shows up to a thousand bulletins whose text rarely
changes. The answer depends only on the text and the commune dictionary, so it is memoised under
(dictionary fingerprint, sha256 of the text): a changed dictionary or text is simply a new key, and
the memo holds digests, not the texts themselves.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping

from broadcast.tts import unknown_abbreviations

MAX_ENTRIES = 20_000  # ~150 bytes each: a few MB at most


def fingerprint(dictionary: Mapping[str, str]) -> bytes:
    """Return a digest naming this exact dictionary (order of entries does not matter)."""
    digest = hashlib.sha256()
    for term, reading in sorted(dictionary.items()):
        digest.update(term.encode() + b"\0" + reading.encode() + b"\0")
    return digest.digest()


class UnknownTerms:
    """A bounded, thread-safe memo of `unknown_abbreviations(text, dictionary)`."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._max = max_entries
        self._memo: OrderedDict[tuple[bytes, bytes], tuple[str, ...]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def of(self, text: str, dictionary: Mapping[str, str], dictionary_key: bytes | None = None) -> list[str]:
        """Return what `text` holds that the machine cannot read; pass `dictionary_key` for many texts."""
        key = (dictionary_key or fingerprint(dictionary), hashlib.sha256(text.encode()).digest())
        with self._lock:
            found = self._memo.get(key)
            if found is not None:
                self._memo.move_to_end(key)
                self.hits += 1
                return list(found)
            self.misses += 1
        terms = tuple(unknown_abbreviations(text, dictionary))  # outside the lock: it is the slow part
        with self._lock:
            self._memo[key] = terms
            while len(self._memo) > self._max:
                self._memo.popitem(last=False)
        return list(terms)


MEMO = UnknownTerms()
